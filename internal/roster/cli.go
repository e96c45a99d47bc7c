package roster

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/switchboard/switchboard/internal/auth"
)

// The functions below are the agent subcommands of the binary (switchboard
// agent add|list|disable) without their flag parsing, so they are tested
// here and cmd/ stays thin. They go through the same Service as the admin
// page and the REST API.

// ParseCapacity reads a --capacity value like "chat=2,sms=4"; channels not
// named keep routing's default.
func ParseCapacity(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, item := range auth.SplitList(s) {
		ch, n, ok := strings.Cut(item, "=")
		v, err := strconv.Atoi(strings.TrimSpace(n))
		if !ok || err != nil {
			return nil, fmt.Errorf("%w: capacity %q: want channel=number, e.g. chat=3", ErrInvalid, item)
		}
		out[strings.TrimSpace(ch)] = v
	}
	return out, nil
}

// AgentAdd adds n with the password read from the first line of password
// and reports it on out.
func AgentAdd(ctx context.Context, s *Service, n NewAgent, password io.Reader, out io.Writer) error {
	pw, err := auth.ReadPassword(password)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	n.Password = pw
	ag, _, err := s.Add(ctx, n)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "added %s %s\n", ag.Role, ag.ID)
	return err
}

// AgentList writes every agent as a table on out.
func AgentList(ctx context.Context, s *Service, out io.Writer) error {
	agents, err := s.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tSKILLS\tQUEUES\tCAPACITY\tSTATUS")
	for _, a := range agents {
		status := "active"
		if a.Disabled {
			status = "disabled"
		}
		var caps []string
		for _, ch := range slices.Sorted(maps.Keys(a.Capacity)) {
			caps = append(caps, ch+"="+strconv.Itoa(a.Capacity[ch]))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Name, a.Role,
			strings.Join(a.Skills, ","), strings.Join(a.Queues, ","), strings.Join(caps, ","), status)
	}
	return tw.Flush()
}

// AgentDisable disables agent id: their sessions stop working and their
// open offers go back to the queue.
func AgentDisable(ctx context.Context, s *Service, id string, out io.Writer) error {
	if err := s.SetDisabled(ctx, "", id, true); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "disabled %s\n", id)
	return err
}
