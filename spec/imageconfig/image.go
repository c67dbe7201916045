// Package imageconfig turns an OCI image configuration into a runtime
// configuration (config.json) on top of spec.Default. It is pure: the image
// files it needs (/etc/passwd, /etc/group) are read by the caller.
package imageconfig

import (
	"github.com/quilt-runtime/quilt/spec"

	"path"
	"slices"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Annotations FromImage sets from the image configuration, as the image
// spec's conversion rules name them. Labels of the same name win.
const (
	AnnotationOS           = "org.opencontainers.image.os"
	AnnotationArchitecture = "org.opencontainers.image.architecture"
	AnnotationVariant      = "org.opencontainers.image.variant"
	AnnotationOSVersion    = "org.opencontainers.image.os.version"
	AnnotationOSFeatures   = "org.opencontainers.image.os.features"
	AnnotationAuthor       = "org.opencontainers.image.author"
	AnnotationCreated      = "org.opencontainers.image.created"
	AnnotationStopSignal   = "org.opencontainers.image.stopSignal"
	AnnotationExposedPorts = "org.opencontainers.image.exposedPorts"
)

// ImageOptions adjust the configuration FromImage makes.
type ImageOptions struct {
	// Entrypoint, when not nil, replaces the image's entrypoint (an empty
	// slice clears it) and drops the image's Cmd, as `docker run
	// --entrypoint` does.
	Entrypoint []string
	// Cmd, when not nil, replaces the image's Cmd (or the one dropped by
	// Entrypoint).
	Cmd []string
	// Passwd and Group are the contents of the image's own /etc/passwd and
	// /etc/group, nil when it has none. They resolve the names in the
	// image's User; the caller reads them inside the image's root.
	Passwd, Group []byte
}

// FromImage returns the runtime configuration of a container of the image
// whose configuration is img: spec.Default(spec.Options{}) with a writable root and
// the process, environment, user and annotations the image asks for,
// following the image spec's conversion rules:
//
//   - process.args is Entrypoint followed by Cmd (each replaceable by o);
//     when both are empty the default "sh" stays.
//   - process.env is the default environment with the image's variables
//     merged in, the image's value winning for a name both set.
//   - process.cwd is WorkingDir ("/" when unset).
//   - process.user comes from User, with names resolved through o.Passwd
//     and o.Group; a name that does not resolve is an error.
//   - annotations hold the platform, author, creation time, stop signal
//     and exposed ports, overridden by the image's labels.
func FromImage(img ocispec.Image, o ImageOptions) (*specs.Spec, error) {
	s := spec.Default(spec.Options{})
	s.Root.Readonly = false
	c := img.Config

	entrypoint, cmd := c.Entrypoint, c.Cmd
	if o.Entrypoint != nil {
		entrypoint, cmd = o.Entrypoint, nil
	}
	if o.Cmd != nil {
		cmd = o.Cmd
	}
	if args := slices.Concat(entrypoint, cmd); len(args) > 0 {
		s.Process.Args = args
	}
	s.Process.Env = mergeEnv(s.Process.Env, c.Env)
	if c.WorkingDir != "" {
		s.Process.Cwd = path.Join("/", c.WorkingDir)
	}
	u, err := resolveUser(c.User, o.Passwd, o.Group)
	if err != nil {
		return nil, err
	}
	s.Process.User = u
	s.Annotations = imageAnnotations(img)
	return s, nil
}

// mergeEnv returns base with env merged in: a variable of env replaces the
// one of the same name in base, in place, and the others are appended.
func mergeEnv(base, env []string) []string {
	out := slices.Clone(base)
	index := make(map[string]int, len(out))
	for i, kv := range out {
		index[envName(kv)] = i
	}
	for _, kv := range env {
		name := envName(kv)
		if i, ok := index[name]; ok {
			out[i] = kv
			continue
		}
		index[name] = len(out)
		out = append(out, kv)
	}
	return out
}

func envName(kv string) string {
	name, _, _ := strings.Cut(kv, "=")
	return name
}

// imageAnnotations returns the annotations the image spec derives from a
// configuration, nil when there are none.
func imageAnnotations(img ocispec.Image) map[string]string {
	a := make(map[string]string)
	set := func(k, v string) {
		if v != "" {
			a[k] = v
		}
	}
	set(AnnotationOS, img.OS)
	set(AnnotationArchitecture, img.Architecture)
	set(AnnotationVariant, img.Variant)
	set(AnnotationOSVersion, img.OSVersion)
	set(AnnotationOSFeatures, strings.Join(img.OSFeatures, ","))
	set(AnnotationAuthor, img.Author)
	if img.Created != nil {
		set(AnnotationCreated, img.Created.UTC().Format(time.RFC3339Nano))
	}
	set(AnnotationStopSignal, img.Config.StopSignal)
	ports := make([]string, 0, len(img.Config.ExposedPorts))
	for p := range img.Config.ExposedPorts {
		ports = append(ports, p)
	}
	slices.Sort(ports)
	set(AnnotationExposedPorts, strings.Join(ports, ","))
	for k, v := range img.Config.Labels {
		a[k] = v
	}
	if len(a) == 0 {
		return nil
	}
	return a
}
