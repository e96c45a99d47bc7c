package conversation

import (
	"errors"
	"testing"
)

func TestNormalizeAddress(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc string
		ch   Channel
		in   string
		want string // empty: invalid
	}{
		{"e164", ChannelSMS, "+14155550101", "+14155550101"},
		{"formatted", ChannelVoice, " +1 (415) 555-0101 ", "+14155550101"},
		{"00 prefix", ChannelSMS, "0049 30 1234567", "+49301234567"},
		{"no country code", ChannelSMS, "4155550101", ""},
		{"letters", ChannelSMS, "+1415CALLME", ""},
		{"too short", ChannelSMS, "+123456", ""},
		{"seven digits (small countries)", ChannelSMS, "+6834002", "+6834002"},
		{"too long", ChannelSMS, "+1234567890123456", ""},
		{"zero country", ChannelSMS, "+0123456789", ""},
		{"email", ChannelEmail, " Bo.Smith@Example.COM ", "bo.smith@example.com"},
		{"email no at", ChannelEmail, "bo.example.com", ""},
		{"email two at", ChannelEmail, "bo@x@example.com", ""},
		{"email no dot", ChannelEmail, "bo@localhost", ""},
		{"email space", ChannelEmail, "bo smith@example.com", ""},
		{"email display name", ChannelEmail, "Bo <bo@example.com>", ""},
		{"visitor", ChannelChat, "v-1a2b:3", "v-1a2b:3"},
		{"visitor slash", ChannelChat, "v/../x", ""},
		{"unknown channel", Channel("fax"), "+14155550101", ""},
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
	chans := []Channel{ChannelSMS, ChannelVoice, ChannelEmail, ChannelChat}
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
