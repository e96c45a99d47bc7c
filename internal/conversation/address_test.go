package conversation

import (
	"errors"
	"testing"

	"github.com/switchboard/switchboard/internal/channel"
)

func TestNormalizeAddress(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc string
		ch   channel.Name
		in   string
		want string // empty: invalid
	}{
		{"e164", channel.SMS, "+14155550101", "+14155550101"},
		{"formatted", channel.Voice, " +1 (415) 555-0101 ", "+14155550101"},
		{"00 prefix", channel.SMS, "0049 30 1234567", "+49301234567"},
		{"no country code", channel.SMS, "4155550101", ""},
		{"letters", channel.SMS, "+1415CALLME", ""},
		{"too short", channel.SMS, "+123456", ""},
		{"seven digits (small countries)", channel.SMS, "+6834002", "+6834002"},
		{"too long", channel.SMS, "+1234567890123456", ""},
		{"zero country", channel.SMS, "+0123456789", ""},
		{"email", channel.Email, " Bo.Smith@Example.COM ", "bo.smith@example.com"},
		{"email no at", channel.Email, "bo.example.com", ""},
		{"email two at", channel.Email, "bo@x@example.com", ""},
		{"email no dot", channel.Email, "bo@localhost", ""},
		{"email space", channel.Email, "bo smith@example.com", ""},
		{"email display name", channel.Email, "Bo <bo@example.com>", ""},
		{"visitor", channel.Chat, "v-1a2b:3", "v-1a2b:3"},
		{"visitor slash", channel.Chat, "v/../x", ""},
		{"unknown channel", channel.Name("fax"), "+14155550101", ""},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			got, err := NormalizeAddress(c.ch, c.in)
			if c.want == "" {
				if err == nil || !errors.Is(err, ErrInvalid) {
					t.Fatalf("NormalizeAddress(%q) = %q, %v; want an invalid error", c.in, got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("NormalizeAddress(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
		})
	}
}

// FuzzNormalizeAddress checks that normalization never panics, is a fixed
// point, and yields only what keys can hold safely.
func FuzzNormalizeAddress(f *testing.F) {
	for _, s := range []string{"+14155550101", "0049 30 1234567", "Bo@Example.com", "visitor-1", "", "+", "@", "İ@x.io"} {
		f.Add(uint8(0), s)
	}
	chans := []channel.Name{channel.SMS, channel.Voice, channel.Email, channel.Chat}
	f.Fuzz(func(t *testing.T, c uint8, s string) {
		ch := chans[int(c)%len(chans)]
		out, err := NormalizeAddress(ch, s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		again, err := NormalizeAddress(ch, out)
		if err != nil || again != out {
			t.Fatalf("not a fixed point: %q → %q → %q, %v", s, out, again, err)
		}
		for _, r := range out {
			if r == ' ' || r == '\n' || r == '\r' || r == 0 {
				t.Fatalf("normalized %q holds %q", out, r)
			}
		}
	})
}
