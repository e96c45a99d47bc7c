package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// ErrForbiddenAddress is returned for an endpoint URL that is, or resolves
// to, an address inside the gateway's network (loopback, private,
// link-local such as a cloud metadata service) while the endpoint does not
// allow private addresses.
var ErrForbiddenAddress = errors.New("webhook: address not allowed")

// ErrInvalidURL is returned for an endpoint URL that is not an absolute
// http or https URL without credentials.
var ErrInvalidURL = errors.New("webhook: invalid URL")

// internalNets are ranges netip has no predicate for.
var internalNets = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),     // "this network"
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),  // NAT64 can reach IPv4 internals
}

// publicAddr reports whether ip is an address on the public internet.
func publicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range internalNets {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// Resolver looks up host names; *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// checkURL validates an endpoint URL before it is stored: its form, and
// that every address its host resolves to is public unless allowPrivate.
func checkURL(ctx context.Context, raw string, allowPrivate bool, res Resolver) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%w: want an absolute http(s) URL, got %q", ErrInvalidURL, raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: credentials in the URL are not allowed; use the signing secret", ErrInvalidURL)
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("%w: a fragment is never sent", ErrInvalidURL)
	}
	if allowPrivate {
		return u, nil
	}
	if _, err := resolvePublic(ctx, u.Hostname(), res); err != nil {
		return nil, err
	}
	return u, nil
}

// resolvePublic resolves host and refuses it when any of its addresses is
// internal: a name with one public and one private address could be
// steered to the private one.
func resolvePublic(ctx context.Context, host string, res Resolver) ([]netip.Addr, error) {
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		addrs, err = res.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("webhook: resolve %s: %w", host, err)
		}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("webhook: resolve %s: no addresses", host)
	}
	for _, ip := range addrs {
		if !publicAddr(ip) {
			return nil, fmt.Errorf("%w: %s resolves to %s; an admin may allow private addresses for this endpoint", ErrForbiddenAddress, host, ip)
		}
	}
	return addrs, nil
}

// DialFunc dials a network address; net.Dialer.DialContext is one.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

type allowPrivateKey struct{}

// guardedDial checks the addresses again at connect time, so a name that
// resolved to a public address at registration and to a private one now
// (DNS rebinding) is still refused. It dials the checked address itself,
// never the name, so the check and the connection see the same address.
func guardedDial(dial DialFunc, res Resolver) DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if allow, _ := ctx.Value(allowPrivateKey{}).(bool); allow {
			return dial(ctx, network, addr)
		}
		addrs, err := resolvePublic(ctx, host, res)
		if err != nil {
			return nil, err
		}
		var last error
		for _, ip := range addrs {
			c, err := dial(ctx, network, net.JoinHostPort(ip.String(), port))
			if err == nil {
				return c, nil
			}
			last = err
		}
		return nil, last
	}
}
