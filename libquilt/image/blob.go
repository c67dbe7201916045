package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/quilt-runtime/quilt/libquilt/image/layer"
)

// maxTrailer bounds the bytes a layer may hold after the end of its tar
// archive (padding), which are read to check digests.
const maxTrailer = 1 << 20

// hashReader hashes and counts what is read through it.
type hashReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func newHashReader(r io.Reader) *hashReader {
	return &hashReader{r: r, h: sha256.New()}
}

func (h *hashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

func (h *hashReader) sum() v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.h.Sum(nil))}
}

// ctxReader stops reading once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// extractBlob applies the layer b to dir and returns its diffID, after
// checking the blob's size and digest and the diffID against what the
// image says. Decompression and hashing run in a goroutine beside the
// extraction.
func extractBlob(ctx context.Context, b blob, dir string, o layer.Options) (v1.Hash, error) {
	rc, err := b.open()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("open: %w", err)
	}
	defer rc.Close()
	raw := newHashReader(ctxReader{ctx, rc})
	dec, release, err := decompress(raw)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("decompress: %w: %w", ErrCorrupt, err)
	}
	defer release()
	stream := newHashReader(dec)
	ra := newReadahead(stream)
	running := true
	defer func() {
		if running {
			ra.Close()
		}
	}()
	if err := layer.Extract(dir, ra, o); err != nil {
		return v1.Hash{}, err
	}
	// What follows the end of the archive still counts in the diffID.
	n, err := io.Copy(io.Discard, io.LimitReader(ra, maxTrailer+1))
	if err != nil {
		return v1.Hash{}, fmt.Errorf("read layer: %w: %w", ErrCorrupt, err)
	}
	if n > maxTrailer {
		return v1.Hash{}, fmt.Errorf("over %d bytes after the end of the archive: %w", maxTrailer, ErrCorrupt)
	}
	ra.Close()
	running = false
	if _, err := io.Copy(io.Discard, io.LimitReader(raw, maxTrailer)); err != nil {
		return v1.Hash{}, fmt.Errorf("read blob: %w", err)
	}
	if b.size >= 0 && raw.n != b.size {
		return v1.Hash{}, fmt.Errorf("blob has %d bytes, descriptor says %d: %w", raw.n, b.size, ErrDigest)
	}
	if got := raw.sum(); b.digest.Hex != "" && got != b.digest {
		return v1.Hash{}, fmt.Errorf("blob content has digest %s: %w", got, ErrDigest)
	}
	diffID := stream.sum()
	if b.diffID.Hex != "" && diffID != b.diffID {
		return v1.Hash{}, fmt.Errorf("uncompressed layer has digest %s, config says %s: %w", diffID, b.diffID, ErrDigest)
	}
	return diffID, nil
}

// hashFile returns the digest of the file open returns.
func hashFile(open func() (io.ReadCloser, error)) (v1.Hash, error) {
	rc, err := open()
	if err != nil {
		return v1.Hash{}, err
	}
	defer rc.Close()
	h := newHashReader(rc)
	if _, err := io.CopyBuffer(io.Discard, h, make([]byte, chunkSize)); err != nil {
		return v1.Hash{}, err
	}
	return h.sum(), nil
}
