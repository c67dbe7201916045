// Command quilt-unpack turns an image into a runnable bundle; `quilt unpack`
// runs it. It is a binary of its own so that the image libraries stay out
// of quilt, which starts twice (runtime and container init) per container.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/docker/go-units"
	"github.com/urfave/cli/v3"

	"github.com/quilt-runtime/quilt/libquilt/image"
)

func main() {
	cmd := unpackCommand
	cmd.ExitErrHandler = func(context.Context, *cli.Command, error) {}
	if err := cmd.Run(context.Background(), os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "quilt: %v\n", err)
		os.Exit(1)
	}
}

var unpackCommand = &cli.Command{
	Name:      "quilt unpack",
	Usage:     "turn an image into a runnable bundle",
	ArgsUsage: "<image>[:<ref>] <bundle>",
	Description: `The image is a root filesystem tarball (tar, tar.gz, tar.xz, tar.zst), an
OCI image layout (directory or tar) or a docker-save archive; the format is
told from the content. REF picks one image of a layout or archive holding
several. The bundle gets config.json (the image's command, environment, user
and working directory on top of "quilt spec" defaults) and rootfs: an overlay
of layers kept once in the store, or with --copy a plain directory. Then:
quilt run -b BUNDLE ID.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "store", Value: image.DefaultRoot, Usage: "image store directory"},
		&cli.BoolFlag{Name: "copy", Usage: "extract a plain rootfs directory instead of an overlay of the store"},
		&cli.StringFlag{Name: "ref", Usage: "image to pick in a layout or archive (instead of IMAGE:REF)"},
		&cli.StringFlag{Name: "platform", Usage: "os/arch[/variant] to pick from an index (default: this host's)"},
		&cli.StringFlag{Name: "max-size", Value: "64GiB", Usage: "refuse images that unpack to more than this"},
	},
	Action: func(ctx context.Context, cmd *cli.Command) error {
		args := cmd.Args().Slice()
		if len(args) != 2 {
			return fmt.Errorf("unpack: want an image and a bundle directory (usage: quilt unpack %s)", cmd.ArgsUsage)
		}
		img, ref := splitImageRef(args[0])
		if r := cmd.String("ref"); r != "" {
			img, ref = args[0], r
		}
		max, err := units.RAMInBytes(cmd.String("max-size"))
		if err != nil || max <= 0 {
			return fmt.Errorf("unpack: --max-size %q: want a size such as 10GiB", cmd.String("max-size"))
		}
		res, err := image.Unpack(ctx, image.Options{
			Image:    img,
			Ref:      ref,
			Platform: cmd.String("platform"),
			Bundle:   args[1],
			Root:     cmd.String("store"),
			Copy:     cmd.Bool("copy"),
			MaxSize:  max,
		})
		if err != nil {
			return fmt.Errorf("unpack %s: %w", args[0], err)
		}
		fmt.Fprintf(cmd.Root().Writer, "unpacked %s %s (%d layers) into %s\n", res.Format, res.Digest, len(res.Layers), args[1])
		return nil
	},
}

// splitImageRef reads IMAGE[:REF]: the whole argument when it names a file
// or directory, else the part before the last colon, if that exists.
func splitImageRef(s string) (string, string) {
	if _, err := os.Stat(s); err == nil {
		return s, ""
	}
	if i := strings.LastIndex(s, ":"); i > 0 {
		if _, err := os.Stat(s[:i]); err == nil {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}
