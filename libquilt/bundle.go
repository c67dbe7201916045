package libquilt

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/quilt-runtime/quilt/spec"
)

// ConfigFile is the name of a bundle's configuration.
const ConfigFile = "config.json"

// LoadBundle reads and validates dir/config.json. It returns the spec and the
// bundle's absolute, clean path. Errors name the bundle and the field.
func LoadBundle(dir string) (*specs.Spec, string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, "", fmt.Errorf("bundle %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, "", fmt.Errorf("%w %s: no such directory", ErrBundle, abs)
	case err != nil:
		return nil, "", fmt.Errorf("%w %s: %w", ErrBundle, abs, err)
	case !fi.IsDir():
		return nil, "", fmt.Errorf("%w %s: not a directory", ErrBundle, abs)
	}
	path := filepath.Join(abs, ConfigFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("%w %s: no %s in it (create one with `quilt spec`)", ErrBundle, abs, ConfigFile)
	} else if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrBundle, err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, "", fmt.Errorf("%w: %s: %s", ErrBundle, path, describeJSONError(data, err))
	}
	if err := spec.Validate(&s); err != nil {
		return nil, "", fmt.Errorf("%w: %s: %w", ErrBundle, path, err)
	}
	rootfs := s.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(abs, rootfs)
	}
	if fi, err := os.Stat(rootfs); err != nil || !fi.IsDir() {
		return nil, "", fmt.Errorf("%w: %s: root.path %s: no such directory", ErrBundle, path, rootfs)
	}
	return &s, abs, nil
}

// describeJSONError adds the line and column to a syntax error.
func describeJSONError(data []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var off int64
	switch {
	case errors.As(err, &syn):
		off = syn.Offset
	case errors.As(err, &typ):
		off = typ.Offset
		if typ.Field != "" {
			return fmt.Sprintf("field %s: cannot use a JSON %s as %s", typ.Field, typ.Value, typ.Type)
		}
	default:
		return err.Error()
	}
	line, col := 1, 1
	for i := int64(0); i < off && i < int64(len(data)); i++ {
		if data[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("malformed JSON at line %d, column %d: %v", line, col, err)
}
