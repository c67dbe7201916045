package integration

import (
	"bufio"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/quilt-runtime/quilt/libquilt/image"
	"github.com/quilt-runtime/quilt/spec"
)

// imageScript prints what the image configuration sets: the environment,
// the working directory, the user.
const imageScript = `echo "$GREETING $(pwd) $(id -u):$(id -g) $PATH"`

// defaultPath is the PATH of a configuration whose image sets none.
var defaultPath = strings.TrimPrefix(spec.DefaultPath, "PATH=")

// layersImage is a three-layer image: the base, a layer adding files, and
// one that deletes a file (whiteout) and replaces a directory's content
// (opaque directory). Its command shows what is left.
func layersImage(t *testing.T) fixtureImage {
	t.Helper()
	add := layerTar(t,
		dirEntry("data", 0o755), fileEntry("data/keep", "keep\n"),
		dirEntry("data/old", 0o755), fileEntry("data/old/a", "a\n"), fileEntry("data/old/b", "b\n"),
		dirEntry("etc", 0o755), fileEntry("etc/gone.txt", "gone\n"),
	)
	change := layerTar(t,
		dirEntry("etc", 0o755), whiteout("etc", "gone.txt"),
		dirEntry("data/old", 0o755), opaque("data/old"), fileEntry("data/old/new", "new\n"),
	)
	return fixtureImage{
		config: v1.Config{
			Cmd:        []string{"/bin/sh", "-c", `echo "$GREETING $(pwd) $(id -u):$(id -g)" $(ls /data/old) $(cat /data/keep); test -e /etc/gone.txt && echo gone-present || echo gone-absent`},
			Env:        []string{"GREETING=from-layers"},
			WorkingDir: "/data",
		},
		layers: [][]byte{baseLayer(t), add, change},
	}
}

// TestImageUnpack unpacks each image format, into the store and as a
// copy, and runs the bundle: the container must run the image's command
// with its environment, working directory and user, on the image's files.
func TestImageUnpack(t *testing.T) {
	t.Parallel()
	fx := newHarness(t)
	dir := fx.dir
	base := baseLayer(t)
	rootfsTar := func(kind, name string) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, compress(t, kind, base))
		return p
	}
	ociTar := tarTree(t, writeOCILayout(t, filepath.Join(dir, "oci-tar-layout"), "v1", fixtureImage{
		config: v1.Config{
			Cmd:        []string{"/bin/sh", "-c", imageScript},
			Env:        []string{"GREETING=from-oci-tar"},
			WorkingDir: "/srv/oci-tar",
			User:       "1001:1002",
		},
		layers: [][]byte{base},
	}, "zst"), filepath.Join(dir, "oci.tar"))
	// The rootfs tarballs have no configuration: their bundles run the
	// default sh, which reads its script from stdin.
	rootfsScript := `echo "$(cat /etc/fixture) $(pwd) $(id -u):$(id -g) $PATH"`
	rootfsWant := "rootfs / 0:0 " + defaultPath
	cases := []struct {
		name, image, format string
		stdin, want         string
		absent              []string // paths the rootfs must not hold
	}{
		{name: "tar", image: rootfsTar("", "rootfs.tar"), format: "rootfs tarball", stdin: rootfsScript, want: rootfsWant},
		{name: "tar.gz", image: rootfsTar("gz", "rootfs.tar.gz"), format: "rootfs tarball", stdin: rootfsScript, want: rootfsWant},
		{name: "tar.xz", image: rootfsTar("xz", "rootfs.tar.xz"), format: "rootfs tarball", stdin: rootfsScript, want: rootfsWant},
		{name: "tar.zst", image: rootfsTar("zst", "rootfs.tar.zst"), format: "rootfs tarball", stdin: rootfsScript, want: rootfsWant},
		{
			name: "oci-dir", format: "OCI image layout",
			image: writeOCILayout(t, filepath.Join(dir, "oci-dir"), "oci-dir", fixtureImage{
				config: v1.Config{
					Entrypoint: []string{"/bin/sh", "-c"},
					Cmd:        []string{imageScript},
					Env:        []string{"PATH=/bin", "GREETING=from-oci-dir"},
					WorkingDir: "/srv/oci-dir",
					User:       "app",
				},
				layers: [][]byte{base},
			}, "gz"),
			want: "from-oci-dir /srv/oci-dir 1000:1000 /bin",
		},
		// IMAGE:REF picks the image by its ref.name.
		{name: "oci-tar", image: ociTar + ":v1", format: "OCI image layout", want: "from-oci-tar /srv/oci-tar 1001:1002 " + defaultPath},
		{
			name: "docker-save", format: "docker-save archive",
			image: writeDockerSave(t, filepath.Join(dir, "docker.tar"), "quilt.test/fixture:v1", fixtureImage{
				config: v1.Config{
					Entrypoint: []string{"/bin/sh", "-c", imageScript},
					Env:        []string{"GREETING=from-docker"},
					WorkingDir: "/home/svc",
					User:       "svc",
				},
				layers: [][]byte{base},
			}),
			want: "from-docker /home/svc 2000:2000 " + defaultPath,
		},
		{
			name: "layers", format: "OCI image layout",
			image:  writeOCILayout(t, filepath.Join(dir, "layers"), "layers", layersImage(t), "gz"),
			want:   "from-layers /data 0:0 new keep\ngone-absent",
			absent: []string{"etc/gone.txt", "data/old/a", "data/old/b"},
		},
	}
	for _, c := range cases {
		for _, mode := range []string{"store", "copy"} {
			t.Run(c.name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				h := newHarness(t)
				bdir := filepath.Join(h.dir, "bundle")
				flags := []string{"--copy"}
				if mode == "store" {
					flags = []string{"--store", filepath.Join(h.dir, "store")}
				}
				r := h.unpack(c.image, bdir, flags...)
				if r.code != 0 {
					t.Fatalf("%v", r)
				}
				if !strings.Contains(r.stdout, c.format) {
					t.Errorf("%s: stdout %q does not name the format %q", r.cmdline, r.stdout, c.format)
				}
				rootfs := filepath.Join(bdir, "rootfs")
				wantFS := map[string]string{"store": "overlay", "copy": ""}[mode]
				if got := mountFS(rootfs); got != wantFS {
					t.Errorf("%s is a mount of type %q, want %q", rootfs, got, wantFS)
				}
				for _, p := range c.absent {
					if _, err := os.Lstat(filepath.Join(rootfs, p)); !errors.Is(err, fs.ErrNotExist) {
						t.Errorf("%s: deleted by a later layer, but Lstat says %v", p, err)
					}
				}
				b := h.imageBundle(bdir)
				out := h.runImage(b, c.stdin)
				if out.code != 0 {
					t.Fatalf("%v", out)
				}
				if got := strings.TrimSpace(out.stdout); got != c.want {
					t.Errorf("container printed\n%s\nwant\n%s", got, c.want)
				}
			})
		}
	}
}

// TestImageStore makes two bundles of one image from one store: the
// second must come from the store (nothing unpacked again, quickly), and
// what one container writes must reach neither the other nor the store.
func TestImageStore(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	img := layersImage(t)
	layout := writeOCILayout(t, filepath.Join(h.dir, "layout"), "layers", img, "gz")
	store := filepath.Join(h.dir, "store")
	dirA, dirB := filepath.Join(h.dir, "a"), filepath.Join(h.dir, "b")

	start := time.Now()
	h.mustUnpack(layout, dirA, "--store", store)
	cold := time.Since(start)
	before := storeTree(t, store)
	if len(before) == 0 {
		t.Fatalf("store %s holds no layer after an unpack", store)
	}
	start = time.Now()
	h.mustUnpack(layout, dirB, "--store", store)
	warm := time.Since(start)
	t.Logf("cold unpack %v, warm %v", cold.Round(time.Millisecond), warm.Round(time.Millisecond))
	if warm > 2*time.Second {
		t.Errorf("second bundle of a stored image took %v, want well under 2s", warm)
	}
	if after := storeTree(t, store); !slices.Equal(before, after) {
		t.Errorf("second bundle changed the store:\nbefore %v\nafter  %v", before, after)
	}
	// Another image with the same base layer shares it.
	docker := writeDockerSave(t, filepath.Join(h.dir, "docker.tar"), "quilt.test/base:v1",
		fixtureImage{config: v1.Config{Cmd: []string{"true"}}, layers: img.layers[:1]})
	h.mustUnpack(docker, filepath.Join(h.dir, "c"), "--store", store)
	if after := storeTree(t, store); !slices.Equal(before, after) {
		t.Errorf("an image of a stored layer changed the store:\nbefore %v\nafter  %v", before, after)
	}
	for _, d := range []string{dirA, dirB} {
		if got := mountFS(filepath.Join(d, "rootfs")); got != "overlay" {
			t.Errorf("%s/rootfs is a mount of type %q, want overlay", d, got)
		}
	}

	a, b := h.imageBundle(dirA), h.imageBundle(dirB)
	if out := h.runImage(a, ""); out.code != 0 || !strings.Contains(out.stdout, "new keep") {
		t.Fatalf("image command: %v", out)
	}
	a.Spec.Process.Args = shell("echo written-by-a > /data/mark && rm /data/keep && cat /data/mark")
	a.save(t)
	if out := h.runImage(a, ""); out.code != 0 || strings.TrimSpace(out.stdout) != "written-by-a" {
		t.Fatalf("writing container: %v", out)
	}
	if got := readFile(filepath.Join(dirA, "rootfs/data/mark")); got != "written-by-a\n" {
		t.Errorf("%s/rootfs/data/mark holds %q, want what container a wrote", dirA, got)
	}
	b.Spec.Process.Args = shell("cat /data/keep; test -e /data/mark && echo mark-seen || echo mark-unseen")
	b.save(t)
	if out := h.runImage(b, ""); out.code != 0 || strings.TrimSpace(out.stdout) != "keep\nmark-unseen" {
		t.Errorf("container b sees container a's changes (want keep, mark-unseen): %v", out)
	}
	if _, err := os.Lstat(filepath.Join(dirB, "rootfs/data/mark")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s/rootfs/data/mark: container a's file in bundle b (%v)", dirB, err)
	}
	keep := 0
	for _, p := range storeTree(t, store) {
		if strings.Contains(p, "/data/mark ") {
			t.Errorf("container a's file reached the store: %s", p)
		}
		if strings.Contains(p, "/data/keep ") {
			keep++
		}
	}
	if keep != 1 {
		t.Errorf("store holds %d data/keep, want 1 (container a deleted its view only)", keep)
	}
}

// TestImageUnpackErrors feeds unpack what it must refuse: each error
// names the path at fault, and nothing is left behind.
func TestImageUnpackErrors(t *testing.T) {
	t.Parallel()
	fx := newHarness(t)
	dir := fx.dir
	good := compress(t, "gz", baseLayer(t))
	truncated := filepath.Join(dir, "truncated.tar.gz")
	writeFile(t, truncated, good[:len(good)/2])
	garbage := filepath.Join(dir, "garbage.img")
	writeFile(t, garbage, []byte(strings.Repeat("not an image\n", 100)))
	corrupt := writeOCILayout(t, filepath.Join(dir, "corrupt"), "corrupt", fixtureImage{
		config: v1.Config{Cmd: []string{"true"}}, layers: [][]byte{baseLayer(t)},
	}, "gz")
	corruptBlob(t, corrupt)
	missing := filepath.Join(dir, "missing.tar.gz")

	cases := []struct {
		name, image string
		existing    bool // the bundle holds a config.json already
	}{
		{name: "missing", image: missing},
		{name: "garbage", image: garbage},
		{name: "truncated", image: truncated},
		{name: "corrupt-blob", image: corrupt},
		{name: "existing-bundle", image: filepath.Join(dir, "ok.tar.gz"), existing: true},
	}
	writeFile(t, filepath.Join(dir, "ok.tar.gz"), good)
	for _, c := range cases {
		for _, mode := range []string{"store", "copy"} {
			t.Run(c.name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				h := newHarness(t)
				bdir := filepath.Join(h.dir, "bundle")
				store := filepath.Join(h.dir, "store")
				flags := []string{"--copy"}
				if mode == "store" {
					flags = []string{"--store", store}
				}
				mention := c.image
				const config = `{"ociVersion":"1.0.2","note":"not for unpack"}`
				if c.existing {
					if err := os.Mkdir(bdir, 0o755); err != nil {
						t.Fatal(err)
					}
					writeFile(t, filepath.Join(bdir, "config.json"), []byte(config))
					mention = bdir
				}
				r := h.unpack(c.image, bdir, flags...)
				wantError(t, r, mention)
				if c.existing {
					ents, _ := os.ReadDir(bdir)
					if len(ents) != 1 || readFile(filepath.Join(bdir, "config.json")) != config {
						t.Errorf("bundle %s changed: %v", bdir, ents)
					}
				} else if _, err := os.Lstat(bdir); !errors.Is(err, fs.ErrNotExist) {
					ents, _ := os.ReadDir(bdir)
					t.Errorf("failed unpack left bundle %s (%v): %v", bdir, err, ents)
				}
				if m := mountsUnder(h.dir); len(m) > 0 {
					t.Errorf("failed unpack left mounts %v", m)
				}
				if left := storeTree(t, store); len(left) > 0 {
					t.Errorf("failed unpack left in the store: %v", left)
				}
			})
		}
	}
}

// corruptBlob changes one byte in the middle of the largest blob (the
// layer) of the layout dir, so that it no longer matches its digest.
func corruptBlob(t *testing.T, dir string) {
	t.Helper()
	var biggest string
	var size int64
	blobs := filepath.Join(dir, "blobs", "sha256")
	ents, err := os.ReadDir(blobs)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && fi.Size() > size {
			biggest, size = filepath.Join(blobs, e.Name()), fi.Size()
		}
	}
	data, err := os.ReadFile(biggest)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	writeFile(t, biggest, data)
}

// unpack runs `unpack [flags] IMAGE BUNDLE`, and has the test's cleanup
// remove the bundle it may make (unmounting its rootfs) before the
// harness looks for leftovers.
func (h *harness) unpack(img, bundleDir string, flags ...string) result {
	h.t.Helper()
	h.t.Cleanup(func() {
		if err := image.Remove(bundleDir); err != nil && !errors.Is(err, image.ErrNotBundle) {
			h.t.Errorf("cleanup: %v", err)
		}
	})
	args := append(append([]string{"unpack"}, flags...), img, bundleDir)
	return h.exec(args...)
}

func (h *harness) mustUnpack(img, bundleDir string, flags ...string) {
	h.t.Helper()
	if r := h.unpack(img, bundleDir, flags...); r.code != 0 {
		h.t.Fatalf("%v", r)
	}
}

// imageBundle readies a bundle that unpack made for this test: its
// config.json, made from the image, gets a private cgroupsPath (and the
// test's annotation), and the harness's leftover checks cover it.
func (h *harness) imageBundle(dir string) *bundle {
	h.t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		h.t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(raw, &s); err != nil {
		h.t.Fatalf("%s/config.json: %v", dir, err)
	}
	if s.Linux == nil || s.Process == nil {
		h.t.Fatalf("%s/config.json has no process or linux section", dir)
	}
	b := &bundle{Dir: dir, Spec: &s, cgroup: cgroupParent + "/" + randomHex(6)}
	s.Linux.CgroupsPath = b.cgroup
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations["org.quilt.test"] = h.t.Name()
	b.save(h.t)
	h.bundles = append(h.bundles, b)
	return b
}

// runImage runs the bundle in the foreground (`run -b BUNDLE ID`), with
// stdin as the container's input when not empty.
func (h *harness) runImage(b *bundle, stdin string) result {
	h.t.Helper()
	var o opts
	if stdin != "" {
		p := filepath.Join(h.dir, "stdin-"+randomHex(3))
		writeFile(h.t, p, []byte(stdin+"\n"))
		f, err := os.Open(p)
		if err != nil {
			h.t.Fatal(err)
		}
		defer f.Close()
		o.stdin = f
	}
	return h.execOpts(o, "run", "-b", b.Dir, h.id())
}

// mountFS is the file system type of the mount whose mount point is path,
// "" when path is not a mount point.
func mountFS(path string) string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	fstype := ""
	s := bufio.NewScanner(f)
	for s.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER
		fields := strings.Fields(s.Text())
		sep := slices.Index(fields, "-")
		if len(fields) < 5 || sep < 0 || sep+1 >= len(fields) {
			continue
		}
		if unescapeMount(fields[4]) == path {
			fstype = fields[sep+1] // the last one mounted there is on top
		}
	}
	return fstype
}

// storeTree lists what the store holds, but for its lock files: every
// entry below its layers, rootfs and tmp directories, with its size, to
// see whether an unpack changed it.
func storeTree(t *testing.T, store string) []string {
	t.Helper()
	var out []string
	root := filepath.Join(store, "image")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch rel {
		case ".", "layers", "layers/sha256", "rootfs", "rootfs/sha256", "tmp":
			return nil
		case "locks", "images":
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		size := "-"
		if !fi.IsDir() {
			size = strconv.FormatInt(fi.Size(), 10)
		}
		out = append(out, rel+" "+fi.Mode().String()+" "+size)
		return nil
	})
	if err != nil {
		t.Fatalf("walk store: %v", err)
	}
	return out
}
