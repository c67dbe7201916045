package image

import (
	"bufio"
	"bytes"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// compression is a stream compression, known by its magic bytes.
type compression int

const (
	uncompressed compression = iota
	compressGzip
	compressZstd
	compressXz
)

var magics = []struct {
	c     compression
	magic []byte
}{
	{compressGzip, []byte{0x1f, 0x8b}},
	{compressZstd, []byte{0x28, 0xb5, 0x2f, 0xfd}},
	{compressXz, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}},
}

// maxZstdWindow bounds the memory a zstd frame may ask for.
const maxZstdWindow = 128 << 20

// decompress returns the decompressed stream of r, whose compression is
// told by its first bytes (none is a plain stream), and a function that
// releases the decoder.
func decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(6)
	if err != nil && err != io.EOF {
		return nil, nil, err
	}
	c := uncompressed
	for _, m := range magics {
		if bytes.HasPrefix(head, m.magic) {
			c = m.c
		}
	}
	switch c {
	case compressGzip:
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		return z, func() { z.Close() }, nil
	case compressZstd:
		z, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return nil, nil, err
		}
		return z, z.Close, nil
	case compressXz:
		z, err := xz.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		return z, func() {}, nil
	}
	return br, func() {}, nil
}
