package imageconfig

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/sys/user"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// resolveUser turns an image's "user[:group]" into a process user, names
// looked up in the image's passwd and group files. As the image spec asks,
// numeric ids are taken verbatim and additional groups are set only for a
// user given by name without a group.
func resolveUser(spec string, passwd, group []byte) (specs.User, error) {
	var u specs.User
	if spec == "" {
		return u, nil
	}
	name, grp, hasGroup := strings.Cut(spec, ":")
	if hasGroup && grp == "" || strings.ContainsAny(spec, "\x00\n") {
		return u, fmt.Errorf("user %q: %w", spec, ErrInvalidUser)
	}
	switch id, numeric, err := parseID(name); {
	case err != nil:
		return u, fmt.Errorf("user %q: %w", spec, err)
	case name == "":
		// ":group": root with another group.
	case numeric:
		u.UID = id
		if !hasGroup {
			if e, ok := findUser(passwd, func(e user.User) bool { return e.Uid == int(id) }); ok {
				u.GID = uint32(e.Gid)
			}
		}
	default:
		e, ok := findUser(passwd, func(e user.User) bool { return e.Name == name })
		if !ok {
			return u, fmt.Errorf("user %q: %w", name, ErrUnknownUser)
		}
		if e.Uid < 0 || e.Gid < 0 {
			return u, fmt.Errorf("user %q: %w", name, ErrInvalidUser)
		}
		u.UID, u.GID = uint32(e.Uid), uint32(e.Gid)
		if !hasGroup {
			u.AdditionalGids = memberOf(group, name, u.GID)
		}
	}
	if !hasGroup {
		return u, nil
	}
	id, numeric, err := parseID(grp)
	switch {
	case err != nil:
		return u, fmt.Errorf("group %q: %w", grp, err)
	case numeric:
		u.GID = id
	default:
		g, ok := findGroup(group, func(g user.Group) bool { return g.Name == grp })
		if !ok {
			return u, fmt.Errorf("group %q: %w", grp, ErrUnknownGroup)
		}
		if g.Gid < 0 {
			return u, fmt.Errorf("group %q: %w", grp, ErrInvalidUser)
		}
		u.GID = uint32(g.Gid)
	}
	return u, nil
}

// parseID reports whether s is a numeric id and returns it; a number out
// of range (including -1, which means "unchanged" to the kernel) is an
// error.
func parseID(s string) (uint32, bool, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 1<<32-1 {
		return 0, false, ErrInvalidUser
	}
	return uint32(n), true, nil
}

func findUser(passwd []byte, match func(user.User) bool) (user.User, bool) {
	if passwd == nil {
		return user.User{}, false
	}
	users, err := user.ParsePasswdFilter(bytes.NewReader(passwd), match)
	if err != nil || len(users) == 0 {
		return user.User{}, false
	}
	return users[0], true
}

func findGroup(group []byte, match func(user.Group) bool) (user.Group, bool) {
	if group == nil {
		return user.Group{}, false
	}
	groups, err := user.ParseGroupFilter(bytes.NewReader(group), match)
	if err != nil || len(groups) == 0 {
		return user.Group{}, false
	}
	return groups[0], true
}

// memberOf returns the ids of the groups listing name as a member, other
// than its primary group, sorted and without repeats; nil when none.
func memberOf(group []byte, name string, primary uint32) []uint32 {
	if group == nil {
		return nil
	}
	groups, err := user.ParseGroupFilter(bytes.NewReader(group), func(g user.Group) bool {
		return slices.Contains(g.List, name)
	})
	if err != nil {
		return nil
	}
	var ids []uint32
	for _, g := range groups {
		if g.Gid >= 0 && g.Gid < 1<<32-1 && uint32(g.Gid) != primary {
			ids = append(ids, uint32(g.Gid))
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// ResolveUser turns "user[:group]" into a process user as FromImage does
// for an image's User, names looked up in passwd and group (the contents
// of the image's /etc/passwd and /etc/group, nil when it has none).
func ResolveUser(spec string, passwd, group []byte) (specs.User, error) {
	return resolveUser(spec, passwd, group)
}
