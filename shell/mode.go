package shell

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Permission classes for symbolic modes; each includes the special bit
// that belongs to it (setuid, setgid, sticky).
const (
	classUser  = 0o4700
	classGroup = 0o2070
	classOther = 0o1007
	classAll   = classUser | classGroup | classOther
)

// parseMode applies a chmod(1) mode to old: octal ("755", "0644") or
// symbolic ("u+x", "go-w,a+r", "u=rwX", "g=u"). dir tells X to act as x;
// umask limits the bits of a clause that names no class ("+x").
func parseMode(spec string, old uint32, dir bool, umask uint32) (uint32, error) {
	if spec == "" {
		return 0, fmt.Errorf("empty mode: %w", ErrUsage)
	}
	if strings.Trim(spec, "01234567") == "" {
		v, err := strconv.ParseUint(spec, 8, 32)
		if err != nil || v > 0o7777 {
			return 0, fmt.Errorf("invalid mode %q: %w", spec, ErrUsage)
		}
		return uint32(v), nil
	}
	mode := old & 0o7777
	for clause := range strings.SplitSeq(spec, ",") {
		i := 0
		who := uint32(0)
		for ; i < len(clause) && strings.IndexByte("ugoa", clause[i]) >= 0; i++ {
			who |= map[byte]uint32{'u': classUser, 'g': classGroup, 'o': classOther, 'a': classAll}[clause[i]]
		}
		if i == len(clause) {
			return 0, fmt.Errorf("invalid mode %q: %w", spec, ErrUsage)
		}
		for i < len(clause) {
			op := clause[i]
			if op != '+' && op != '-' && op != '=' {
				return 0, fmt.Errorf("invalid mode %q: %w", spec, ErrUsage)
			}
			i++
			var perm uint32
			if i < len(clause) && strings.IndexByte("ugo", clause[i]) >= 0 {
				shift := map[byte]uint{'u': 6, 'g': 3, 'o': 0}[clause[i]]
				bits := (mode >> shift) & 7
				perm = bits<<6 | bits<<3 | bits
				i++
			} else {
				for ; i < len(clause) && strings.IndexByte("rwxXst", clause[i]) >= 0; i++ {
					switch clause[i] {
					case 'r':
						perm |= 0o444
					case 'w':
						perm |= 0o222
					case 'x':
						perm |= 0o111
					case 'X':
						if dir || old&0o111 != 0 {
							perm |= 0o111
						}
					case 's':
						perm |= 0o6000
					case 't':
						perm |= 0o1000
					}
				}
			}
			mask := who
			if who == 0 {
				mask = classAll &^ umask
			}
			switch op {
			case '+':
				mode |= perm & mask
			case '-':
				mode &^= perm & mask
			case '=':
				clear := who
				if who == 0 {
					clear = classAll
				}
				if dir {
					clear &= 0o1777 // directories keep setuid and setgid, as in coreutils
				}
				mode = mode&^clear | perm&mask
			}
		}
	}
	return mode, nil
}

// currentUmask reads the process umask. umask(2) can only be read by
// setting it, so it is set back at once.
func currentUmask() uint32 {
	old := unix.Umask(0o22)
	unix.Umask(old)
	return uint32(old)
}

// fileMode converts permission bits with setuid, setgid and sticky
// (0o7777) to an fs.FileMode for os.Chmod.
func fileMode(m uint32) fs.FileMode {
	fm := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		fm |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		fm |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		fm |= fs.ModeSticky
	}
	return fm
}

// permBits is the inverse of fileMode.
func permBits(fm fs.FileMode) uint32 {
	m := uint32(fm.Perm())
	if fm&fs.ModeSetuid != 0 {
		m |= 0o4000
	}
	if fm&fs.ModeSetgid != 0 {
		m |= 0o2000
	}
	if fm&fs.ModeSticky != 0 {
		m |= 0o1000
	}
	return m
}
