package auth

// Every Redis key of this package. All share the workspace hash tag, so the
// scripts that build one key from another stay on one Redis Cluster slot.
//
//	sb:{ws}:acct:<id>           hash   id, name, role, pw (bcrypt), disabled, skills, queues, created
//	sb:{ws}:accts               set    account ids
//	sb:{ws}:sess:<sha256 hex>   hash   acct, csrf, created, seen (ms); PEXPIRE = idle timeout
//	sb:{ws}:tok:<sha256 hex>    hash   name, role, created
//	sb:{ws}:toks                hash   token name -> sha256 hex
//	sb:{ws}:lf:acct:<id>        hash   n failed and p in-flight logins from unknown addresses, last admitted (ms); PEXPIRE = window
//	sb:{ws}:lf:pair:<id>:<ip>   hash   the same, for one address the account has signed in from before
//	sb:{ws}:lf:known:<id>       zset   addresses the account signed in from -> last success (ms)
//	sb:{ws}:lf:ip:<ip>          string failed logins from an IP in the window
//
// Sessions and tokens are stored under the SHA-256 of the secret, so a copy
// of the database lets nobody in.

type keys struct{ prefix string }

func newKeys(workspace string) keys { return keys{prefix: "sb:{" + workspace + "}:"} }

func (k keys) account(id string) string   { return k.prefix + "acct:" + id }
func (k keys) accounts() string           { return k.prefix + "accts" }
func (k keys) session(hash string) string { return k.prefix + "sess:" + hash }
func (k keys) token(hash string) string   { return k.prefix + "tok:" + hash }
func (k keys) tokens() string             { return k.prefix + "toks" }
func (k keys) failAccount(id string) string {
	return k.prefix + "lf:acct:" + id
}
func (k keys) failPair(id, ip string) string {
	return k.prefix + "lf:pair:" + id + ":" + ip
}
func (k keys) failIP(ip string) string     { return k.prefix + "lf:ip:" + ip }
func (k keys) knownAddrs(id string) string { return k.prefix + "lf:known:" + id }
