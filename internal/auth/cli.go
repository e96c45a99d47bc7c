package auth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// The functions below are the token subcommands of the binary (switchboard
// token create|list|revoke) without their flag parsing, so they are tested
// here and cmd/ stays thin; the agent subcommands are internal/roster's.

// ReadPassword reads a password from the first line of r, as given with
// --password-stdin; the line ending is dropped, other whitespace kept.
func ReadPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("auth: read password: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", fmt.Errorf("%w: empty password on standard input", ErrBadInput)
	}
	return line, nil
}

// SplitList turns a flag value like "billing,es" into its items, dropping
// blanks.
func SplitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// TokenCreate creates an API token and prints it on out, alone on a line
// so scripts can capture it. It is shown this once.
func TokenCreate(ctx context.Context, s *Service, name, role string, out io.Writer) error {
	r, err := ParseRole(role)
	if err != nil {
		return err
	}
	tok, err := s.CreateToken(ctx, name, r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, tok)
	return err
}

// TokenList writes the API tokens (never their values) as a table on out.
func TokenList(ctx context.Context, s *Service, out io.Writer) error {
	toks, err := s.Tokens(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tCREATED")
	for _, t := range toks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.Role, t.Created.Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

// TokenRevoke revokes the token called name.
func TokenRevoke(ctx context.Context, s *Service, name string, out io.Writer) error {
	if err := s.RevokeToken(ctx, name); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "revoked %s\n", name)
	return err
}
