package libquilt

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateID(t *testing.T) {
	good := []string{"a", "abc-123", "A.b_c+d", "5eff24f2-fb22-4417-b911-2afc94ae0b6f", strings.Repeat("x", 1024)}
	bad := []string{"", ".", "..", "a/b", "../x", "a b", "a\x00b", "ü", strings.Repeat("x", 1025)}
	for _, id := range good {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v, want nil", id, err)
		}
	}
	for _, id := range bad {
		if err := ValidateID(id); !errors.Is(err, ErrInvalidID) {
			t.Errorf("ValidateID(%q) = %v, want ErrInvalidID", id, err)
		}
	}
}
