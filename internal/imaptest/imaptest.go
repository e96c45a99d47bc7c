// Package imaptest starts a real Dovecot IMAP server for tests: an
// unprivileged instance on a free loopback port with its own configuration,
// users file and Maildirs, and delivers mail into it by IMAP APPEND. When
// Dovecot is missing the test fails and names the command that installs it:
// the email channel is never tested against a stand-in only.
package imaptest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// InstallHint is the command that installs the server these tests need.
const InstallHint = "apt-get install -y dovecot-imapd (or .ci/install-deps imap)"

// Server is one Dovecot instance owned by a test.
type Server struct {
	// Addr is host:port of the plain IMAP listener on loopback.
	Addr string
	Port int
	Dir  string

	conf   string
	users  map[string]string
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start launches Dovecot with the given users (name → password) and stops
// it when t ends.
func Start(t testing.TB, users map[string]string) *Server {
	t.Helper()
	s, err := Launch(users)
	if err != nil {
		t.Fatalf("imaptest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Logf("imaptest: stop: %v", err)
		}
	})
	return s
}

// Launch starts a server outside of a test (benchmarks, TestMain). The
// caller must call Stop.
func Launch(users map[string]string) (*Server, error) {
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		if _, statErr := os.Stat("/usr/sbin/dovecot"); statErr != nil {
			return nil, fmt.Errorf("dovecot not found; install it with: %s", InstallHint)
		}
		bin = "/usr/sbin/dovecot"
	}
	// Mail processes run as nobody (as root) or as ourselves: the whole
	// tree must be reachable by them, so it does not live in a 0700
	// test temp directory.
	dir, err := os.MkdirTemp("", "imaptest-")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, users: users}
	if err := s.start(bin); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func (s *Server) start(bin string) error {
	if err := os.Chmod(s.Dir, 0o755); err != nil {
		return err
	}
	mailUID, mailGID, mailUser, mailGroup, err := mailOwner()
	if err != nil {
		return err
	}
	for _, d := range []string{"run", "state", "mail"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o755); err != nil {
			return err
		}
	}
	var pw bytes.Buffer
	for u, p := range s.users {
		if strings.ContainsAny(u+p, ":\n") {
			return fmt.Errorf("user %q: no colons or newlines", u)
		}
		fmt.Fprintf(&pw, "%s:{PLAIN}%s\n", u, p)
		md := filepath.Join(s.Dir, "mail", u, "Maildir")
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(md, sub), 0o700); err != nil {
				return err
			}
		}
		// Dovecot's mail processes refuse to run as root: the Maildir
		// belongs to the mail user.
		if err := chownR(filepath.Join(s.Dir, "mail", u), mailUID, mailGID); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "users"), pw.Bytes(), 0o644); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	s.Port = port
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	internal := ""
	if os.Geteuid() != 0 {
		// Unprivileged: every Dovecot process runs as us.
		internal = fmt.Sprintf("default_internal_user = %s\ndefault_internal_group = %s\ndefault_login_user = %s\n", mailUser, mailGroup, mailUser)
	}
	conf := fmt.Sprintf(`# written by internal/imaptest
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
info_log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:%[1]s/mail/%%u/Maildir
first_valid_uid = 1
%[4]s
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/users
}
userdb {
  driver = static
  args = uid=%[2]s gid=%[3]s home=%[1]s/mail/%%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[5]d
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}
`, s.Dir, mailUser, mailGroup, internal, port)
	s.conf = filepath.Join(s.Dir, "dovecot.conf")
	if err := os.WriteFile(s.conf, []byte(conf), 0o644); err != nil {
		return err
	}
	// In the foreground, as our child: it dies with the test process
	// (Pdeathsig) instead of outliving a killed test run.
	cmd := exec.Command(bin, "-F", "-c", s.conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start dovecot: %w", err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("dovecot exited: %s", s.log())
		default:
		}
		if c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("dovecot did not listen on %s: %s", s.Addr, s.log())
}

func (s *Server) log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "dovecot.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Log is the server's log, for failure messages.
func (s *Server) Log() string { return s.log() }

// Stop stops the server and removes its directory.
func (s *Server) Stop() error {
	err := exec.Command("doveadm", "-c", s.conf, "stop").Run()
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		// Its whole process group: master, login and mail processes.
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
		err = errors.New("dovecot did not stop; killed")
	}
	_ = os.RemoveAll(s.Dir)
	return err
}

// Kick drops every IMAP connection of user, as a server restart or a
// network failure would.
func (s *Server) Kick(user string) error {
	out, err := exec.Command("doveadm", "-c", s.conf, "kick", user).CombinedOutput()
	if err != nil {
		return fmt.Errorf("doveadm kick: %v: %s", err, out)
	}
	return nil
}

// Dial logs in as user and returns an IMAP client; the caller closes it.
func (s *Server) Dial(user string) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(s.Addr, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, s.users[user]).Wait(); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// Deliver appends raw messages to user's folder (INBOX when empty), as a
// delivery agent would, unseen.
func (s *Server) Deliver(user, folder string, msgs ...[]byte) error {
	if folder == "" {
		folder = "INBOX"
	}
	c, err := s.Dial(user)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, m := range msgs {
		if err := Append(c, folder, m); err != nil {
			return err
		}
	}
	return c.Logout().Wait()
}

// Append appends one raw message to folder on a logged-in client, unseen,
// as a delivery agent would.
func Append(c *imapclient.Client, folder string, msg []byte) error {
	cmd := c.Append(folder, int64(len(msg)), nil)
	if _, err := cmd.Write(msg); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	if _, err := cmd.Wait(); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	return nil
}

// Flags returns the flags of every message in user's INBOX by UID.
func (s *Server) Flags(user string) (map[imap.UID][]imap.Flag, error) {
	c, err := s.Dial(user)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return nil, err
	}
	msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		return nil, err
	}
	out := map[imap.UID][]imap.Flag{}
	for _, m := range msgs {
		out[m.UID] = m.Flags
	}
	return out, nil
}

func mailOwner() (uid, gid int, userName, groupName string, err error) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return 0, 0, "", "", err
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			return 0, 0, "", "", err
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		return uid, gid, u.Username, g.Name, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return 0, 0, "", "", fmt.Errorf("user nobody: %w", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		return 0, 0, "", "", err
	}
	return uid, gid, "nobody", g.Name, nil
}

func chownR(root string, uid, gid int) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, uid, gid)
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
