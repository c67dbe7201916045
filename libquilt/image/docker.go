package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// openDocker opens the image of a docker-save archive: the one whose
// RepoTags hold ref, or the only one.
func openDocker(open func() (io.ReadCloser, error), ref string) (*source, error) {
	m, err := tarball.LoadManifest(open)
	if err != nil {
		return nil, fmt.Errorf("read manifest.json: %w: %w", ErrCorrupt, err)
	}
	d, err := pickTag(m, ref)
	if err != nil {
		return nil, err
	}
	raw, err := readLimited(tarMember(open, d.Config))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", d.Config, err)
	}
	sum := sha256.Sum256(raw)
	s := &source{format: formatDocker, id: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}}
	if err := json.Unmarshal(raw, &s.config); err != nil {
		return nil, fmt.Errorf("parse config %s: %w: %w", d.Config, ErrCorrupt, err)
	}
	diffIDs := s.config.RootFS.DiffIDs
	if len(diffIDs) != len(d.Layers) {
		return nil, fmt.Errorf("manifest.json lists %d layers, config %d diff_ids: %w", len(d.Layers), len(diffIDs), ErrCorrupt)
	}
	for i, p := range d.Layers {
		diffID, err := v1.NewHash(diffIDs[i].String())
		if err != nil {
			return nil, fmt.Errorf("config diff_id %q: %w: %w", diffIDs[i], ErrCorrupt, err)
		}
		s.layers = append(s.layers, blob{
			diffID: diffID, size: -1, name: p,
			open: func() (io.ReadCloser, error) { return tarMember(open, p) },
		})
	}
	return s, nil
}

// pickTag chooses the image of a docker-save manifest whose RepoTags hold
// ref, or the only one when ref is empty.
func pickTag(m tarball.Manifest, ref string) (tarball.Descriptor, error) {
	var tags []string
	for _, d := range m {
		for _, t := range d.RepoTags {
			if ref != "" && sameTag(t, ref) {
				return d, nil
			}
			tags = append(tags, t)
		}
	}
	switch {
	case ref != "":
		return tarball.Descriptor{}, fmt.Errorf("reference %q (the archive has %s): %w", ref, strings.Join(tags, ", "), ErrNotFound)
	case len(m) == 1:
		return m[0], nil
	case len(m) == 0:
		return tarball.Descriptor{}, fmt.Errorf("manifest.json lists no image: %w", ErrNotFound)
	}
	return tarball.Descriptor{}, fmt.Errorf("%d images (%s): %w", len(m), strings.Join(tags, ", "), ErrAmbiguous)
}
