package nixfix

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// maxReportSize bounds the in-root report that ReadInRootReport reads.
const maxReportSize = 16 << 20

// UndoStep is what Undo did with one action.
type UndoStep struct {
	Action string `json:"action"`
	Op     Op     `json:"op"`
	Path   string `json:"path"`
	Undone bool   `json:"undone"`
	// Reason says why the step was skipped.
	Reason string `json:"reason,omitempty"`
}

// ReadInRootReport reads /.quilt/nixfix.json from the rootfs, without
// following symlinks anywhere on the way.
func ReadInRootReport(rootfs string) (*Report, error) {
	r, err := openRoot(rootfs)
	if err != nil {
		return nil, err
	}
	defer r.close()
	dfd, err := r.openDir(quiltDir)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", inRootReport, err)
	}
	defer unix.Close(dfd)
	fd, err := unix.Openat(dfd, "nixfix.json", unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", inRootReport, err)
	}
	f := os.NewFile(uintptr(fd), inRootReport)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("report %s: not a regular file: %w", inRootReport, ErrUnsafePath)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxReportSize))
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", inRootReport, err)
	}
	var rep Report
	if err := json.Unmarshal(data, &rep); err != nil || rep.Schema != Schema {
		return nil, fmt.Errorf("report %s: not a %s report: %w", inRootReport, Schema, ErrConfig)
	}
	return &rep, nil
}

// Undo reverses the actions of a repair run in reverse order. It
// removes what nixfix created and restores the links it replaced, but only
// where the entry still is what the action recorded; any other step is
// skipped with a reason. The in-root report goes with /.quilt.
func Undo(rootfs string, actions []*Action) ([]UndoStep, error) {
	r, err := openRoot(rootfs)
	if err != nil {
		return nil, err
	}
	defer r.close()
	if err := r.lock(); err != nil {
		return nil, err
	}
	s := &scan{r: r}
	var steps []UndoStep
	for _, a := range slices.Backward(actions) {
		step := UndoStep{Action: a.ID, Op: a.Op, Path: a.Path, Undone: true}
		if err := s.undo(a); err != nil {
			step.Undone, step.Reason = false, err.Error()
		}
		steps = append(steps, step)
	}
	return steps, nil
}

func (s *scan) undo(a *Action) error {
	if a.Path != cleanIn(a.Path) || a.Path == "/" {
		return fmt.Errorf("path %q: %w", a.Path, ErrConfig)
	}
	return s.withParent(a.Path, func(dfd int, name string) error {
		switch a.Op {
		case OpSymlink:
			if err := isLinkTo(dfd, a.Target)(name); err != nil {
				return err
			}
			return unix.Unlinkat(dfd, name, 0)
		case OpMkdir:
			if a.Path == quiltDir {
				s.removeInRootReport()
			}
			return unix.Unlinkat(dfd, name, unix.AT_REMOVEDIR)
		case OpPlaceholder, OpCopy:
			if err := isOurFile(dfd, name, a); err != nil {
				return err
			}
			return unix.Unlinkat(dfd, name, 0)
		case OpReplaceSymlink:
			return restoreLink(dfd, name, a.PreviousTarget, isLinkTo(dfd, a.Target), unlinker(dfd))
		case OpReplaceDanglingDirlink:
			return restoreLink(dfd, name, a.PreviousTarget, isEmptyDir(dfd), rmdirer(dfd))
		case OpExpandDirlink:
			if err := unexpand(dfd, name, a); err != nil {
				return err
			}
			return restoreLink(dfd, name, a.PreviousTarget, isEmptyDir(dfd), rmdirer(dfd))
		}
		return fmt.Errorf("unknown op %q: %w", a.Op, ErrConfig)
	})
}

// restoreLink puts name -> target back in place of what an action made.
func restoreLink(dfd int, name, target string, isOurs, drop func(string) error) error {
	if target == "" {
		return fmt.Errorf("no previous target recorded: %w", ErrConfig)
	}
	tmp := tempName(name)
	if err := unix.Symlinkat(target, dfd, tmp); err != nil {
		return err
	}
	if err := swap(dfd, tmp, name, isOurs, drop); err != nil {
		unix.Unlinkat(dfd, tmp, 0)
		return err
	}
	return nil
}

// unexpand removes the per-entry links of an expand-dirlink action, after
// checking that the directory holds exactly those links.
func unexpand(dfd int, name string, a *Action) error {
	fd, err := unix.Openat(dfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	names, err := readDirNames(fd)
	if err != nil {
		return err
	}
	if !slices.Equal(names, slices.Sorted(slices.Values(a.Entries))) {
		return fmt.Errorf("%s holds %q, not the recorded entries: %w", a.Path, names, ErrExists)
	}
	for _, e := range names {
		if err := isLinkTo(fd, a.Target+"/"+e)(e); err != nil {
			return err
		}
	}
	for _, e := range names {
		if err := unix.Unlinkat(fd, e, 0); err != nil {
			return err
		}
	}
	return nil
}

// isOurFile checks a placeholder (empty, mode 0000; stat only, since a
// mode-0000 file cannot be opened without privileges) or a copied shell
// (the recorded digest).
func isOurFile(dfd int, name string, a *Action) error {
	changed := fmt.Errorf("%s changed since it was created: %w", a.Path, ErrExists)
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return changed
	}
	if a.Op == OpPlaceholder {
		if st.Size != 0 || st.Mode&0o7777 != 0 {
			return changed
		}
		return nil
	}
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), a.Path)
	defer f.Close()
	var fst unix.Stat_t
	if err := unix.Fstat(fd, &fst); err != nil || fst.Ino != st.Ino {
		return changed
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if hex.EncodeToString(h.Sum(nil)) != a.SHA256 {
		return changed
	}
	return nil
}

func isEmptyDir(dfd int) func(string) error {
	return func(name string) error {
		fd, err := unix.Openat(dfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("%s is no longer a directory: %w", name, ErrExists)
		}
		defer unix.Close(fd)
		names, err := readDirNames(fd)
		if err != nil || len(names) > 0 {
			return fmt.Errorf("directory %s is not empty: %w", name, ErrExists)
		}
		return nil
	}
}

func rmdirer(dfd int) func(string) error {
	return func(name string) error { return unix.Unlinkat(dfd, name, unix.AT_REMOVEDIR) }
}

// removeInRootReport removes /.quilt/nixfix.json if it is a regular file.
func (s *scan) removeInRootReport() {
	s.withParent(inRootReport, func(dfd int, name string) error {
		var st unix.Stat_t
		if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			return err
		}
		return unix.Unlinkat(dfd, name, 0)
	})
}
