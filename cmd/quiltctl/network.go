package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v3"

	quiltv1 "github.com/quilt-runtime/quilt/api/quilt/v1"
)

func networkCommand(s *session) *cli.Command {
	cmd := &cli.Command{
		Name:  "network",
		Usage: "manage networks",
		Description: `Containers join a network with run --network NAME. Containers of one network
reach each other by address and by container name (quiltd keeps their
/etc/hosts up to date); containers of different networks do not reach each
other. "bridge" is quiltd's default network.`,
		Commands: []*cli.Command{
			networkCreateCommand(s), networkLsCommand(s), networkInspectCommand(s), networkRmCommand(s),
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return fmt.Errorf("unknown command %q (see quiltctl network --help)", cmd.Args().First())
			}
			return cli.ShowSubcommandHelp(cmd)
		},
	}
	for _, sub := range cmd.Commands {
		sub.DisableSliceFlagSeparator = true
		sub.OnUsageError = usageError(1)
	}
	return cmd
}

func networkCreateCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create a network",
		ArgsUsage: "NAME",
		Description: `Prints the new network's id. Without --subnet quiltd takes a free /24 of its
pool (10.78.0.0/16 unless configured).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "subnet", Usage: "IPv4 subnet, such as 10.10.1.0/24"},
			&cli.StringFlag{Name: "gateway", Usage: "the bridge's address in the subnet (default: the first one)"},
			&cli.StringFlag{Name: "bridge", Usage: "name of the bridge device (default: qn- and part of the id)"},
			&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "set a label: KEY=VALUE"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Len() != 1 {
				return fmt.Errorf("network create: %w: give one network name", errNoArgs)
			}
			name := cmd.Args().First()
			if err := checkNetworkName(name); err != nil {
				return fmt.Errorf("network create: name %w", err)
			}
			labels, err := labelMap(cmd.StringSlice("label"))
			if err != nil {
				return err
			}
			if err := s.dial(ctx); err != nil {
				return err
			}
			n, err := s.networks.Create(ctx, &quiltv1.CreateNetworkRequest{
				Name: name, Subnet: cmd.String("subnet"), Gateway: cmd.String("gateway"),
				Bridge: cmd.String("bridge"), Labels: labels,
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.Root().Writer, n.GetId())
			return nil
		},
	}
}

// checkNetworkName is checkNetwork for a name that must not be empty.
func checkNetworkName(name string) error {
	if name == "" {
		return fmt.Errorf("%q: %w", name, errInvalidNetwork)
	}
	return checkNetwork(name)
}

func networkLsCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:    "ls",
		Aliases: []string{"list"},
		Usage:   "list networks",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the names"},
			formatFlag(),
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if err := noArgs(cmd); err != nil {
				return err
			}
			asJSON, err := checkFormat(cmd)
			if err != nil {
				return err
			}
			if err := s.dial(ctx); err != nil {
				return err
			}
			resp, err := s.networks.List(ctx, &quiltv1.ListNetworksRequest{})
			if err != nil {
				return err
			}
			w := cmd.Root().Writer
			switch {
			case cmd.Bool("quiet"):
				for _, n := range resp.GetNetworks() {
					fmt.Fprintln(w, n.GetName())
				}
			case asJSON:
				for _, n := range resp.GetNetworks() {
					if err := writeJSONLine(w, n); err != nil {
						return err
					}
				}
			default:
				return writeTable(w, networkHeader, networkRows(resp.GetNetworks()))
			}
			return nil
		},
	}
}

var networkHeader = []string{"NETWORK ID", "NAME", "BRIDGE", "SUBNET", "GATEWAY", "CONTAINERS"}

// networkRows are network ls's rows: the default network first, then by
// name.
func networkRows(ns []*quiltv1.Network) [][]string {
	ns = slices.Clone(ns)
	slices.SortStableFunc(ns, func(a, b *quiltv1.Network) int {
		if a.GetIsDefault() != b.GetIsDefault() {
			if a.GetIsDefault() {
				return -1
			}
			return 1
		}
		return strings.Compare(a.GetName(), b.GetName())
	})
	rows := make([][]string, 0, len(ns))
	for _, n := range ns {
		rows = append(rows, []string{
			shortID(n.GetId()), n.GetName(), n.GetBridge(), n.GetSubnet(), n.GetGateway(),
			strconv.Itoa(len(n.GetContainers())),
		})
	}
	return rows
}

func networkInspectCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show networks and their containers as JSON",
		ArgsUsage: "NETWORK...",
		Action: func(ctx context.Context, cmd *cli.Command) error {
			var found []*quiltv1.Network
			err := forEachID(s, func(ctx context.Context, cmd *cli.Command, ref string) error {
				n, err := s.networks.Inspect(ctx, &quiltv1.InspectNetworkRequest{Name: ref})
				if err == nil {
					found = append(found, n)
				}
				return err
			})(ctx, cmd)
			if found == nil && err != nil && !s.connected() {
				return err
			}
			if werr := writeJSONArray(cmd.Root().Writer, found); werr != nil {
				return werr
			}
			return err
		},
	}
}

func networkRmCommand(s *session) *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Aliases:   []string{"remove"},
		Usage:     "remove networks that no container uses",
		ArgsUsage: "NETWORK...",
		Action: forEachID(s, func(ctx context.Context, cmd *cli.Command, ref string) error {
			if _, err := s.networks.Remove(ctx, &quiltv1.RemoveNetworkRequest{Name: ref}); err != nil {
				return err
			}
			fmt.Fprintln(cmd.Root().Writer, ref)
			return nil
		}),
	}
}
