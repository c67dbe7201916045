package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// blobReader reads the blobs of an OCI image layout: layout.Path for a
// directory, tarLayout for a tar.
type blobReader interface {
	Blob(v1.Hash) (io.ReadCloser, error)
}

// containerdName is the annotation containerd and docker save put the
// full image name in, beside the tag in ref.name.
const containerdName = "io.containerd.image.name"

// maxIndexDepth bounds the nesting of indexes.
const maxIndexDepth = 4

// DefaultPlatform is the platform picked from an index by default.
var DefaultPlatform = "linux/" + runtime.GOARCH

// openOCI opens the image of an OCI layout whose index.json is index.
func openOCI(l blobReader, index []byte, ref, platform string) (*source, error) {
	if platform == "" {
		platform = DefaultPlatform
	}
	want, err := v1.ParsePlatform(platform)
	if err != nil {
		return nil, fmt.Errorf("platform %q: %w", platform, err)
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(index))
	if err != nil {
		return nil, fmt.Errorf("parse index.json: %w: %w", ErrCorrupt, err)
	}
	desc, err := pick(l, idx, ref, *want, 0)
	if err != nil {
		return nil, err
	}
	raw, err := readBlob(l, desc)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parse manifest %s: %w: %w", desc.Digest, ErrCorrupt, err)
	}
	if m.MediaType != "" && !isManifest(m.MediaType) {
		return nil, fmt.Errorf("manifest %s: %s: %w", desc.Digest, m.MediaType, ErrUnknownMediaType)
	}
	if mt := m.Config.MediaType; mt != types.OCIConfigJSON && mt != types.DockerConfigJSON {
		return nil, fmt.Errorf("config %s: %s: %w", m.Config.Digest, mt, ErrUnknownMediaType)
	}
	rawConfig, err := readBlob(l, m.Config)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	s := &source{format: formatOCI, id: desc.Digest}
	if err := json.Unmarshal(rawConfig, &s.config); err != nil {
		return nil, fmt.Errorf("parse config %s: %w: %w", m.Config.Digest, ErrCorrupt, err)
	}
	diffIDs := s.config.RootFS.DiffIDs
	if len(diffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("manifest %s has %d layers, config %d diff_ids: %w", desc.Digest, len(m.Layers), len(diffIDs), ErrCorrupt)
	}
	for i, d := range m.Layers {
		if !isLayer(d.MediaType) {
			return nil, fmt.Errorf("layer %s: %s: %w", d.Digest, d.MediaType, ErrUnknownMediaType)
		}
		diffID, err := v1.NewHash(diffIDs[i].String())
		if err != nil {
			return nil, fmt.Errorf("config diff_id %q: %w: %w", diffIDs[i], ErrCorrupt, err)
		}
		s.layers = append(s.layers, blob{
			diffID: diffID, digest: d.Digest, size: d.Size, name: d.Digest.String(),
			open: func() (io.ReadCloser, error) { return l.Blob(d.Digest) },
		})
	}
	return s, nil
}

// pick chooses a manifest from idx: the one whose reference matches ref,
// else the only one, else the one for platform, descending into nested
// indexes.
func pick(l blobReader, idx *v1.IndexManifest, ref string, platform v1.Platform, depth int) (v1.Descriptor, error) {
	if depth > maxIndexDepth {
		return v1.Descriptor{}, fmt.Errorf("indexes nested over %d deep: %w", maxIndexDepth, ErrCorrupt)
	}
	cands := idx.Manifests
	if ref != "" {
		cands = slices.DeleteFunc(slices.Clone(cands), func(d v1.Descriptor) bool { return !refMatches(d, ref) })
		if len(cands) == 0 {
			return v1.Descriptor{}, fmt.Errorf("reference %q (the layout has %s): %w", ref, refList(idx), ErrNotFound)
		}
	}
	if len(cands) > 1 {
		cands = slices.DeleteFunc(slices.Clone(cands), func(d v1.Descriptor) bool {
			return d.Platform == nil || !d.Platform.Satisfies(platform)
		})
		if len(cands) != 1 {
			return v1.Descriptor{}, fmt.Errorf("%d images for platform %s (the layout has %s): %w", len(cands), platform, refList(idx), ErrAmbiguous)
		}
	}
	if len(cands) == 0 {
		return v1.Descriptor{}, fmt.Errorf("empty index: %w", ErrNotFound)
	}
	d := cands[0]
	switch {
	case isManifest(d.MediaType):
		return d, nil
	case d.MediaType == types.OCIImageIndex || d.MediaType == types.DockerManifestList:
		raw, err := readBlob(l, d)
		if err != nil {
			return v1.Descriptor{}, fmt.Errorf("read index: %w", err)
		}
		sub, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return v1.Descriptor{}, fmt.Errorf("parse index %s: %w: %w", d.Digest, ErrCorrupt, err)
		}
		// A single manifest of an index for another platform is not
		// the one wanted: filter by platform from here on.
		sub.Manifests = slices.DeleteFunc(sub.Manifests, func(d v1.Descriptor) bool {
			return d.Platform != nil && !d.Platform.Satisfies(platform)
		})
		if len(sub.Manifests) == 0 {
			return v1.Descriptor{}, fmt.Errorf("index %s: no image for platform %s: %w", d.Digest, platform, ErrNotFound)
		}
		return pick(l, sub, "", platform, depth+1)
	}
	return v1.Descriptor{}, fmt.Errorf("descriptor %s: %s: %w", d.Digest, d.MediaType, ErrUnknownMediaType)
}

// refMatches reports whether d is the image ref names: its ref.name
// annotation is ref, or its containerd name is the same image name.
func refMatches(d v1.Descriptor, ref string) bool {
	if d.Annotations[ocispec.AnnotationRefName] == ref {
		return true
	}
	full := d.Annotations[containerdName]
	return full != "" && sameTag(full, ref)
}

// sameTag reports whether a and b name the same repository and tag once
// normalized ("busybox" is "index.docker.io/library/busybox:latest").
func sameTag(a, b string) bool {
	ta, err := name.NewTag(a)
	if err != nil {
		return false
	}
	tb, err := name.NewTag(b)
	return err == nil && ta.Name() == tb.Name()
}

// refList lists the references of an index, for error messages.
func refList(idx *v1.IndexManifest) string {
	var refs []string
	for _, d := range idx.Manifests {
		if r := d.Annotations[ocispec.AnnotationRefName]; r != "" {
			refs = append(refs, r)
		}
	}
	if len(refs) == 0 {
		return fmt.Sprintf("%d manifests, none named", len(idx.Manifests))
	}
	return "references " + strings.Join(refs, ", ")
}

func isManifest(mt types.MediaType) bool {
	return mt == types.OCIManifestSchema1 || mt == types.DockerManifestSchema2
}

func isLayer(mt types.MediaType) bool {
	switch mt {
	case types.OCILayer, types.OCILayerZStd, types.OCIUncompressedLayer,
		types.OCIRestrictedLayer, types.OCIUncompressedRestrictedLayer,
		types.DockerLayer, types.DockerForeignLayer, types.DockerUncompressedLayer,
		"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd":
		return true
	}
	return false
}
