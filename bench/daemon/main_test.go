package main

import (
	"errors"
	"flag"
	"io"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Iterations != 20 || o.Containers != 10 || o.Bin != "bin" || o.Ctr != "ctr" || o.Podman != "podman" || o.Timeout != 2*time.Minute {
		t.Errorf("defaults = %+v", o)
	}
	o, err = parseFlags([]string{"-n", "3", "-k", "2", "-podman", "", "-json"}, io.Discard)
	if err != nil || o.Iterations != 3 || o.Containers != 2 || o.Podman != "" || !o.JSON {
		t.Errorf("parseFlags = %+v, %v", o, err)
	}
	for _, args := range [][]string{{"-n", "0"}, {"-k", "-1"}, {"extra"}} {
		if _, err := parseFlags(args, io.Discard); !errors.Is(err, ErrBadFlag) {
			t.Errorf("parseFlags(%q) = %v, want ErrBadFlag", args, err)
		}
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("parseFlags(-h) = %v, want flag.ErrHelp", err)
	}
}
