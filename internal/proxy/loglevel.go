package proxy

import "log/slog"

// Levels between slog's four, so nginx's eight keep their order.
const (
	levelNotice = slog.LevelInfo + 2
	levelCrit   = slog.LevelError + 2
	levelAlert  = slog.LevelError + 4
	levelEmerg  = slog.LevelError + 6
)

func parseLevel(s string) (slog.Level, bool) {
	switch s {
	case "debug":
		return slog.LevelDebug, true
	case "info":
		return slog.LevelInfo, true
	case "notice":
		return levelNotice, true
	case "warn":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	case "crit":
		return levelCrit, true
	case "alert":
		return levelAlert, true
	case "emerg":
		return levelEmerg, true
	}
	return 0, false
}

// levelName is the inverse of parseLevel, for log lines.
func levelName(l slog.Level) string {
	switch {
	case l >= levelEmerg:
		return "emerg"
	case l >= levelAlert:
		return "alert"
	case l >= levelCrit:
		return "crit"
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warn"
	case l >= levelNotice:
		return "notice"
	case l >= slog.LevelInfo:
		return "info"
	}
	return "debug"
}
