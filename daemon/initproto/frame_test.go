package initproto

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestRequestRoundTrip(t *testing.T) {
	for _, req := range []ExecRequest{
		{},
		{Args: []string{"sh", "-c", "echo hi"}},
		{Args: []string{"a", ""}, Env: []string{"A=1", "B="}, Cwd: "/tmp", UID: 65534, GID: 65534,
			Groups: []uint32{1, 2, 4294967295}, TTY: true, Stdin: true, Rows: 24, Cols: 80},
		{Args: []string{strings.Repeat("x", 70000)}, Stdin: true},
	} {
		got, err := unmarshalRequest(req.marshal())
		if err != nil {
			t.Fatalf("%+v: %v", req, err)
		}
		if !reflect.DeepEqual(got, req) {
			t.Errorf("round trip of %+v gave %+v", req, got)
		}
	}
}

func TestUnmarshalRequestRejects(t *testing.T) {
	good := (&ExecRequest{Args: []string{"true"}, Env: []string{"A=1"}, Groups: []uint32{5}}).marshal()
	cases := map[string][]byte{
		"empty":         nil,
		"newer version": append([]byte{requestVersion + 1}, good[1:]...),
		"truncated":     good[:len(good)-1],
		"trailing byte": append(append([]byte{}, good...), 0),
		"unknown flag":  append([]byte{requestVersion, 0x80}, good[2:]...),
		// A list length far beyond the input must not allocate it.
		"huge count": {requestVersion, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff},
	}
	for name, b := range cases {
		if _, err := unmarshalRequest(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestFrames(t *testing.T) {
	var b []byte
	b = appendFrame(b, frameStdin, []byte("hello"))
	b = appendFrame(b, frameCloseStdin, nil)
	big := bytes.Repeat([]byte("z"), maxChunk)
	b = appendFrame(b, frameStdout, big)
	r := bytes.NewReader(b)
	var buf []byte
	for _, want := range []struct {
		typ byte
		p   []byte
	}{{frameStdin, []byte("hello")}, {frameCloseStdin, nil}, {frameStdout, big}} {
		typ, p, err := readFrame(r, &buf)
		if err != nil || typ != want.typ || !bytes.Equal(p, want.p) {
			t.Fatalf("frame %q %d bytes, %v; want %q %d bytes", typ, len(p), err, want.typ, len(want.p))
		}
	}
	if _, _, err := readFrame(r, &buf); err != io.EOF {
		t.Errorf("after the last frame: %v, want EOF", err)
	}
	// A frame cut short is an unexpected EOF; one too large is refused
	// before its payload is read.
	if _, _, err := readFrame(bytes.NewReader(appendFrame(nil, frameStdin, []byte("abc"))[:6]), &buf); err != io.ErrUnexpectedEOF {
		t.Errorf("short frame: %v", err)
	}
	if _, _, err := readFrame(bytes.NewReader([]byte{frameStdin, 0xff, 0, 0, 0}), &buf); !errors.Is(err, ErrProtocol) {
		t.Errorf("huge frame: %v", err)
	}
}

// FuzzUnmarshalRequest: arbitrary bytes from a client never panic and
// either fail with ErrMalformed or encode back to the same bytes.
func FuzzUnmarshalRequest(f *testing.F) {
	f.Add((&ExecRequest{Args: []string{"sh"}, Env: []string{"A=1"}, Cwd: "/", Groups: []uint32{1}, TTY: true}).marshal())
	f.Add([]byte{requestVersion})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := unmarshalRequest(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if again := req.marshal(); !bytes.Equal(again, b) {
			t.Fatalf("%x decoded to %+v, encoded as %x", b, req, again)
		}
	})
}
