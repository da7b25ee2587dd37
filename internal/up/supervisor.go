// Package up runs a directory of sites as wisp up does: one wisp serve
// process per site on its own Unix socket, and the front proxy in front of
// them, restarting what crashes and stopping everything in order.
package up

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"wisp/internal/listen"
)

// Child is one process the Supervisor keeps running.
type Child struct {
	Name string
	// Command builds the command for each start; the Supervisor adds the
	// listeners, process group and parent-death signal.
	Command func() *exec.Cmd
	// Listeners are handed to every start of the child (see listen.Handoff).
	// The Supervisor holds them open across restarts, so that connections
	// wait in the backlog for the next start instead of being refused.
	Listeners []net.Listener
	// Stop asks the child to finish its requests and exit.
	Stop syscall.Signal
}

// Policy says how eagerly children are restarted and how long they get to
// stop.
type Policy struct {
	// MinBackoff is the first wait before a restart; each further crash
	// within Stable doubles it, up to MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// Stable is how long a start must last to count as working: it resets
	// the backoff.
	Stable time.Duration
	// GiveUp is how many exits in a row, each before Stable and each the
	// child's own (an exit status, not a signal), make the Supervisor give
	// up on a child that has never yet run for Stable. A child that cannot
	// start at all has a problem (a bad config, a port in use) that
	// restarting will not fix; one that has worked, or that something
	// else killed, is restarted for as long as it takes.
	GiveUp int
	// Grace bounds the wait for a child to exit after Stop; then it is
	// killed.
	Grace time.Duration
}

// DefaultPolicy suits sites and a proxy that start in well under a second.
func DefaultPolicy() Policy {
	return Policy{
		MinBackoff: 100 * time.Millisecond,
		MaxBackoff: 10 * time.Second,
		Stable:     10 * time.Second,
		GiveUp:     5,
		Grace:      30 * time.Second,
	}
}

// Supervisor runs children and restarts them when they exit.
type Supervisor struct {
	Policy Policy
	Log    *slog.Logger
	// Stdout and Stderr receive the children's output, each line prefixed
	// with the child's name.
	Stdout, Stderr io.Writer
	// Restart, when it delivers, replaces every child by a fresh start, as
	// after an upgrade of the binary or an edit of a config. The new start
	// begins at once and the old one is stopped gracefully beside it; the
	// listeners stay open throughout, so no connection is refused.
	Restart <-chan struct{}

	outMu sync.Mutex
}

// ErrGaveUp reports a child that kept crashing before it ever worked.
var ErrGaveUp = errors.New("kept exiting right after start; gave up")

// Run starts the layers in order, every child of a layer at once, and
// keeps them running until ctx is done. Then it stops the layers in
// reverse order, each fully before the next, so that the front proxy
// (the last layer) finishes its requests while the sites behind it still
// answer. If a child is given up on, Run stops everything and returns an
// error naming it.
func (s *Supervisor) Run(ctx context.Context, layers ...[]Child) error {
	// failed stops everything early when a child is given up on.
	runCtx, failed := context.WithCancelCause(ctx)
	defer failed(nil)
	type layer struct {
		stop context.CancelFunc
		wg   sync.WaitGroup
	}
	running := make([]*layer, len(layers))
	var restarts []chan struct{}
	for i, children := range layers {
		// Each layer gets its own stop signal, so that they can be stopped
		// one after the other; none of them derives from ctx.
		stopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
		l := &layer{stop: stop}
		running[i] = l
		for _, c := range children {
			// One pending restart is enough however many are asked for.
			restart := make(chan struct{}, 1)
			restarts = append(restarts, restart)
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				if err := s.keep(stopCtx, restart, c); err != nil {
					failed(err)
				}
			}()
		}
	}
	for done := false; !done; {
		select {
		case <-runCtx.Done():
			done = true
		case <-s.Restart:
			for _, r := range restarts {
				select {
				case r <- struct{}{}:
				default:
				}
			}
		}
	}
	for i := len(running) - 1; i >= 0; i-- {
		running[i].stop()
		running[i].wg.Wait()
	}
	if ctx.Err() != nil {
		return nil // asked to stop, not failed
	}
	return context.Cause(runCtx)
}

// keep runs c until stop is done, starting it again after each exit and
// replacing it on each restart request.
func (s *Supervisor) keep(stop context.Context, restart <-chan struct{}, c Child) error {
	// Replaced starts finish their requests in the background.
	var draining sync.WaitGroup
	defer draining.Wait()
	backoff := s.Policy.MinBackoff
	everStable := false
	quick := 0
	for {
		began := time.Now()
		p, err := s.start(c)
		if err == nil {
			select {
			case err = <-p.exited:
			case <-stop.Done():
				s.stop(c, p)
				return nil
			case <-restart:
				s.Log.Info("restarting", "child", c.Name, "pid", p.cmd.Process.Pid)
				draining.Add(1)
				go func() {
					defer draining.Done()
					s.stop(c, p)
				}()
				continue
			}
		}
		ran := time.Since(began)
		var killed *killedError
		switch {
		case ran >= s.Policy.Stable:
			everStable, quick, backoff = true, 0, s.Policy.MinBackoff
		case !errors.As(err, &killed):
			quick++
		}
		if !everStable && quick >= s.Policy.GiveUp {
			s.Log.Error("giving up", "child", c.Name, "crashes", quick, "last", err)
			return fmt.Errorf("%s %w (last exit: %v)", c.Name, ErrGaveUp, err)
		}
		s.Log.Warn("exited; restarting", "child", c.Name, "after", ran.Round(time.Millisecond), "exit", err, "in", backoff)
		select {
		case <-stop.Done():
			return nil
		case <-time.After(backoff):
		case <-restart: // asked for a fresh start anyway: no need to wait
		}
		if ran < s.Policy.Stable {
			backoff = min(2*backoff, s.Policy.MaxBackoff)
		}
	}
}

// proc is one start of a child.
type proc struct {
	cmd *exec.Cmd
	// exited delivers why the process ended, once its output is flushed.
	exited chan error
}

// start starts c with its listeners handed down.
func (s *Supervisor) start(c Child) (*proc, error) {
	cmd := c.Command()
	files, env, err := listen.Handoff(c.Listeners)
	if err != nil {
		return nil, err
	}
	if len(files) > 0 {
		cmd.ExtraFiles = files
		// Environ, not Env: a nil Env means the parent's, which must stay.
		cmd.Env = append(cmd.Environ(), env)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Its own process group: a Ctrl+C at the terminal reaches only wisp
		// up, which then stops the children in order.
		Setpgid: true,
		// Should wisp up itself be killed, the children stop too rather
		// than hold the sockets forever.
		Pdeathsig: syscall.SIGTERM,
	}
	stdout := &prefixWriter{mu: &s.outMu, w: s.Stdout, prefix: "[" + c.Name + "] "}
	stderr := &prefixWriter{mu: &s.outMu, w: s.Stderr, prefix: "[" + c.Name + "] "}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// A grandchild that keeps the output pipe open must not hang Wait.
	cmd.WaitDelay = time.Second
	err = cmd.Start()
	for _, f := range files {
		f.Close()
	}
	if err != nil {
		return nil, err
	}
	s.Log.Info("started", "child", c.Name, "pid", cmd.Process.Pid)
	p := &proc{cmd: cmd, exited: make(chan error, 1)}
	go func() {
		err := cmd.Wait()
		stdout.flush()
		stderr.flush()
		p.exited <- exitReason(err)
	}()
	return p, nil
}

// stop asks p to finish with c's Stop signal and kills it if it has not
// within the grace period.
func (s *Supervisor) stop(c Child, p *proc) {
	p.cmd.Process.Signal(c.Stop)
	timer := time.NewTimer(s.Policy.Grace)
	defer timer.Stop()
	select {
	case err := <-p.exited:
		s.Log.Info("stopped", "child", c.Name, "pid", p.cmd.Process.Pid, "exit", err)
		return
	case <-timer.C:
	}
	s.Log.Warn("did not stop in time; killing", "child", c.Name, "pid", p.cmd.Process.Pid, "grace", s.Policy.Grace)
	p.cmd.Process.Kill()
	<-p.exited
}

// exitReason turns Wait's result into something worth logging: nil for a
// clean exit, else the status or a *killedError.
func exitReason(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &killedError{ws.Signal()}
		}
		return fmt.Errorf("exit status %d", ee.ExitCode())
	}
	return err
}

// killedError is a child's death by a signal: something outside the child
// ended it, so it says nothing about whether the child can start.
type killedError struct{ sig syscall.Signal }

func (e *killedError) Error() string { return "killed by " + e.sig.String() }

// prefixWriter writes each line of a child's output with the child's name
// in front, so that the interleaved output of several sites can be read.
type prefixWriter struct {
	mu     *sync.Mutex // one per Supervisor: lines of different children never mix
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		if err := p.emit(p.buf[:i+1]); err != nil {
			return len(b), err
		}
		p.buf = p.buf[i+1:]
	}
}

// flush writes a last line that lacked its newline.
func (p *prefixWriter) flush() {
	if len(p.buf) > 0 {
		p.emit(append(p.buf, '\n'))
		p.buf = nil
	}
}

func (p *prefixWriter) emit(line []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := io.WriteString(p.w, p.prefix+string(line))
	return err
}
