// Package blog runs one site: it opens the site's database, builds the
// web handler, binds where the config says (a Unix socket, host:port, or
// a listener handed down by systemd or wisp up) and shuts down gracefully.
package blog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"wisp/internal/blog/config"
	"wisp/internal/blog/schedule"
	"wisp/internal/blog/store"
	"wisp/internal/blog/web"
	"wisp/internal/listen"
)

// Server is one site, ready to serve.
type Server struct {
	cfg     *config.Config
	log     *slog.Logger
	store   *store.Store
	handler http.Handler
}

// Open opens the site's database (migrating and seeding it) and builds
// its handler. Close releases it.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Server, error) {
	st, err := store.Open(ctx, cfg.Database.Filename, store.Options{})
	if err != nil {
		return nil, err
	}
	c := cfg.Caching
	h, err := web.New(st, web.Options{
		URL:         cfg.URL,
		ContentPath: cfg.Paths.ContentPath,
		Caching:     &web.Caching{Frontend: c.FrontendMaxAge, Sitemap: c.SitemapMaxAge, Robots: c.RobotstxtMaxAge, Theme: c.ThemeMaxAge},
		Log:         log,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &Server{cfg: cfg, log: log, store: st, handler: h}, nil
}

// Close closes the database.
func (s *Server) Close() error { return s.store.Close() }

// Handler is the site's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Addr is where the config says to listen: server.socket if set (Ghost 4
// semantics), else server.host:server.port.
func Addr(cfg *config.Config) (listen.Addr, error) {
	if sock := cfg.Server.Socket; sock != nil {
		return listen.Unix(sock.Path)
	}
	return listen.Addr{Network: "tcp", Address: cfg.Server.Addr()}, nil
}

// Listen binds the configured address through opener, which prefers a
// listener passed down by systemd or wisp up for the same address.
func (s *Server) Listen(ctx context.Context, opener *listen.Opener) (net.Listener, error) {
	a, err := Addr(s.cfg)
	if err != nil {
		return nil, err
	}
	var mode fs.FileMode // unused for TCP
	if s.cfg.Server.Socket != nil {
		mode = s.cfg.Server.Socket.Perm
	}
	return opener.Listen(ctx, a, mode)
}

// Serve serves on ln until ctx is done, then shuts down: it stops
// accepting (closing ln, which removes a socket file it created), lets
// in-flight requests finish within server.shutdownTimeout, and then
// closes whatever connections remain.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	started := time.Now()
	if s.cfg.Env == "production" {
		s.log.Info("Wisp is running in production...")
		s.log.Info("Your site is now available on " + s.cfg.URL)
		s.log.Info("Ctrl+C to shut down")
	} else {
		s.log.Info("Listening on: " + describe(ln))
		s.log.Info("Url configured as: " + s.cfg.URL)
	}
	// Scheduled posts go live while the site is served; the schedule is in
	// the database, so nothing is lost between runs.
	schedCtx, stopSched := context.WithCancel(ctx)
	schedDone := make(chan struct{})
	go func() { defer close(schedDone); schedule.New(s.store, s.log).Run(schedCtx) }()
	err := serve(ctx, ln, s.handler, s.cfg.Server.ShutdownTimeout, s.log)
	stopSched()
	<-schedDone
	s.log.Info("Wisp has shut down")
	if s.cfg.Env == "production" {
		s.log.Info("Your site is now offline")
	}
	s.log.Info("Wisp was running for " + time.Since(started).Round(time.Second).String())
	return err
}

func describe(ln net.Listener) string {
	if a, err := listen.AddrOf(ln); err == nil {
		return a.String()
	}
	return ln.Addr().String()
}

// serve is Serve without the site: the HTTP server's life cycle.
func serve(ctx context.Context, ln net.Listener, h http.Handler, drain time.Duration, log *slog.Logger) error {
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// Requests are not tied to ctx: shutdown drains them instead of
		// cancelling them mid-response.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("Wisp is shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err := hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("in-flight requests did not finish within the shutdown timeout; closing them", "timeout", drain.String())
		err = hs.Close()
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// Run opens the site, binds it and serves until ctx is done.
func Run(ctx context.Context, cfg *config.Config, opener *listen.Opener, log *slog.Logger) error {
	s, err := Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := s.Listen(ctx, opener)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// PostURL is the public URL of a post or page with this slug.
func PostURL(cfg *config.Config, slug string) string {
	return cfg.URL + slug + "/"
}
