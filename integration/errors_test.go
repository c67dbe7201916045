package integration

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestCreateBadInput checks that create refuses bad ids and bundles with
// exit status 1 and one error line naming the culprit, and leaves nothing
// behind: no state, cgroup, mount or process.
func TestCreateBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		id    string // "" for a random, valid id
		quilt string // non-empty: runc 1.1.5 differs, for this reason
		// bundle breaks a valid bundle and returns the --bundle argument
		// and what the error must mention ("" for the id).
		bundle func(t *testing.T, b *bundle) (dir, mention string)
	}{
		{name: "id with ..", id: "../x"},
		{name: "id with slash", id: "a/b"},
		{name: "missing bundle", bundle: func(t *testing.T, b *bundle) (string, string) {
			d := filepath.Join(b.Dir, "nonexistent")
			return d, d
		}},
		{name: "missing config", bundle: func(t *testing.T, b *bundle) (string, string) {
			mustRemove(t, filepath.Join(b.Dir, "config.json"))
			return b.Dir, "config.json"
		}},
		{name: "malformed config", bundle: func(t *testing.T, b *bundle) (string, string) {
			mustWrite(t, filepath.Join(b.Dir, "config.json"), `{"ociVersion": "1.0.2", "process": {`)
			return b.Dir, "config.json"
		}},
		{name: "missing rootfs", bundle: func(t *testing.T, b *bundle) (string, string) {
			if err := os.RemoveAll(filepath.Join(b.Dir, "rootfs")); err != nil {
				t.Fatal(err)
			}
			return b.Dir, "rootfs"
		}},
		{name: "invalid ociVersion", quilt: `accepts "ociVersion": "invalid"`,
			bundle: func(t *testing.T, b *bundle) (string, string) {
				b.Spec.Version = "invalid"
				b.save(t)
				return b.Dir, "ociVersion"
			}},
		{name: "failing prestart hook", bundle: func(t *testing.T, b *bundle) (string, string) {
			b.Spec.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "exit 3"}}}}
			b.save(t)
			return b.Dir, "prestart"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.quilt != "" {
				quiltOnly(t, tc.quilt)
			}
			h := newHarness(t)
			b := h.bundle(testinit("pause"))
			id, dir, mention := tc.id, b.Dir, tc.id
			if id == "" {
				id = h.id()
				mention = id
			}
			if tc.bundle != nil {
				var m string
				if dir, m = tc.bundle(t, b); m != "" {
					mention = m
				}
			}
			r := h.exec("create", "--bundle", dir, id)
			wantError(t, r, mention)
			h.checkNothingLeft()
			if ents, _ := os.ReadDir(h.dir); len(ents) > 0 {
				for _, e := range ents {
					if e.Name() == "x" || e.Name() == "a" {
						t.Errorf("create %s made %s outside --root", id, filepath.Join(h.dir, e.Name()))
					}
				}
			}
			wantError(t, h.exec("state", id), id)
		})
	}
}

// TestCreateDuplicateID checks that a second create with a used id fails
// and changes nothing of the first container.
func TestCreateDuplicateID(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.bundle(testinit("pause"))
	id := h.id()
	if r := h.create(b, id); r.code != 0 {
		t.Fatalf("%v", r)
	}
	before := h.state(id)
	b2 := h.bundle(testinit("pause"))
	wantError(t, h.create(b2, id), id)
	after := h.state(id)
	if after.Status != "created" || after.Pid != before.Pid || after.Bundle != b.Dir {
		t.Errorf("first container changed: %+v, was %+v", after, before)
	}
	h.checkNothingLeft(id)
	if d := cgroupDirs(b2.cgroup); len(d) > 0 {
		t.Errorf("failed create left cgroups %v", d)
	}
	if p := containerProcesses(b2.Dir, []*bundle{b2}); len(p) > 0 {
		t.Errorf("failed create left processes %v", p)
	}
	if m := mountsUnder(b2.Dir); len(m) > 0 {
		t.Errorf("failed create left mounts %v", m)
	}
}

// TestWrongState checks that commands refuse a container in the wrong
// state, or one that does not exist, and leave it as it was.
func TestWrongState(t *testing.T) {
	t.Parallel()
	// running makes a started container that stays up.
	running := func(h *harness) string {
		b := h.bundle(testinit("pause"))
		id := h.id()
		cr := h.create(b, id)
		if cr.code != 0 {
			h.t.Fatalf("%v", cr)
		}
		h.mustExec("start", id)
		waitFile(h.t, cr.outPath, "ready")
		return id
	}
	stopped := func(h *harness) string {
		id := running(h)
		h.mustExec("kill", id, "KILL")
		h.waitStatus(id, "stopped")
		return id
	}
	created := func(h *harness) string {
		id := h.id()
		if r := h.create(h.bundle(testinit("pause")), id); r.code != 0 {
			h.t.Fatalf("%v", r)
		}
		return id
	}
	missing := func(h *harness) string { return h.id() }

	for _, tc := range []struct {
		name  string
		quilt string
		make  func(h *harness) string
		args  []string // the id is appended
		after string   // the status the container must still have; "" for none
	}{
		{name: "start running", make: running, args: []string{"start"}, after: "running"},
		{name: "start stopped", make: stopped, args: []string{"start"}, after: "stopped"},
		{name: "kill stopped", make: stopped, args: []string{"kill"}, after: "stopped"},
		{name: "delete running", make: running, args: []string{"delete"}, after: "running"},
		{name: "delete created", make: created, args: []string{"delete"}, after: "created",
			quilt: "deletes a created container without --force"},
		{name: "start missing", make: missing, args: []string{"start"}},
		{name: "state missing", make: missing, args: []string{"state"}},
		{name: "kill missing", make: missing, args: []string{"kill"}},
		{name: "delete missing", make: missing, args: []string{"delete"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.quilt != "" {
				quiltOnly(t, tc.quilt)
			}
			h := newHarness(t)
			id := tc.make(h)
			var pid int
			if tc.after != "" {
				pid = h.state(id).Pid
			}
			wantError(t, h.exec(append(tc.args, id)...), id)
			if tc.after == "" {
				h.checkNothingLeft()
				return
			}
			s := h.state(id)
			if s.Status != tc.after {
				t.Errorf("status %q after the refused command, want %q", s.Status, tc.after)
			}
			if tc.after != "stopped" && (s.Pid != pid || !alive(pid)) {
				t.Errorf("pid %d (was %d) not alive after the refused command", s.Pid, pid)
			}
		})
	}
}

// TestMissingArguments checks that each command refuses to run without
// its container id, and that kill refuses an unknown signal.
func TestMissingArguments(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, cmd := range []string{"create", "start", "state", "kill", "delete", "run"} {
		wantError(t, h.exec(cmd))
	}
	b := h.bundle(testinit("pause"))
	id := h.id()
	if r := h.create(b, id); r.code != 0 {
		t.Fatalf("%v", r)
	}
	wantError(t, h.exec("kill", id, "NOSUCHSIG"), "NOSUCHSIG")
	if s := h.state(id); s.Status != "created" {
		t.Errorf("status %q after a refused kill, want created", s.Status)
	}
}

// TestDeleteForce checks that delete --force removes a running container
// and succeeds for one that does not exist.
func TestDeleteForce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.bundle(testinit("pause"))
	id := h.id()
	cr := h.create(b, id)
	if cr.code != 0 {
		t.Fatalf("%v", cr)
	}
	h.mustExec("start", id)
	waitFile(t, cr.outPath, "ready")
	pid := h.state(id).Pid
	h.mustExec("delete", "--force", id)
	if alive(pid) {
		t.Errorf("pid %d alive after delete --force", pid)
	}
	wantError(t, h.exec("state", id), id)
	h.checkNothingLeft()
	if r := h.exec("delete", "--force", h.id()); r.code != 0 {
		t.Errorf("delete --force of a missing container: %v", r)
	}
}

func mustRemove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
