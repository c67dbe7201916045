package libquilt

import "fmt"

// maxIDLength keeps state paths and cgroup names well inside NAME_MAX.
const maxIDLength = 1024

// ValidateID checks a container id: 1 to 1024 characters from
// [A-Za-z0-9_+.-], and not "." or "..". These are the ids runc accepts.
func ValidateID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: the id is empty", ErrInvalidID)
	}
	if len(id) > maxIDLength {
		return fmt.Errorf("%w: the id is longer than %d characters", ErrInvalidID, maxIDLength)
	}
	if id == "." || id == ".." {
		return fmt.Errorf("%w %q", ErrInvalidID, id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_', c == '+', c == '-', c == '.':
		default:
			return fmt.Errorf("%w %q: only letters, digits, '_', '+', '-' and '.' are allowed", ErrInvalidID, id)
		}
	}
	return nil
}
