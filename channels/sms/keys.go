package sms

import "github.com/switchboard/switchboard/internal/channel"

// optOutKey holds the time a customer opted out of a channel. It shares
// the workspace hash tag with every other key of the installation.
func optOutKey(workspace string, ch channel.Name, address string) string {
	return "sb:{" + workspace + "}:optout:" + string(ch) + ":" + address
}
