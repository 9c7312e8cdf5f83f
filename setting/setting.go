// Package setting lets library packages name the setting an error is
// about without knowing how a user gave it: the command line calls it a
// flag (--proxy-width), a settings file or result.json a field
// (supernet.proxy_width), a Go caller a struct field. Libraries return an
// *Error naming the setting as their settings type spells it in JSON, and
// each front end translates the name (cmd/fleetnas maps it to its flag).
//
// The standard library's errors package has no such notion, and no
// well-kept library offers it without bringing a configuration framework
// along, so it is written here; it is one type and two functions.
package setting

import (
	"errors"
	"fmt"
	"strings"
)

// Error is an invalid or missing setting.
type Error struct {
	// Name is the setting as its settings type spells it in JSON, with
	// a dotted prefix for nested settings: "budget", "holdout",
	// "supernet.proxy_width", "train.epochs".
	Name string
	// Err says what is wrong with it.
	Err error
}

// Error reads "NAME: what is wrong".
func (e *Error) Error() string { return e.Name + ": " + e.Err.Error() }

// Unwrap returns what is wrong, so that errors.Is sees through an Error.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error for setting name with a formatted message;
// %w wraps as in fmt.Errorf.
func Errorf(name, format string, args ...any) error {
	return &Error{Name: name, Err: fmt.Errorf(format, args...)}
}

// Wrap returns err as an error about setting name (nil stays nil).
func Wrap(name string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Name: name, Err: err}
}

// Prefix returns err with every setting it names put under prefix
// (prefix "supernet" turns "batch" into "supernet.batch"); other errors
// are returned as they are. A package that nests another's settings uses
// it so that names stay unique across concerns.
func Prefix(prefix string, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	renamed := &Error{Name: prefix + "." + e.Name, Err: e.Err}
	msg := strings.Replace(err.Error(), e.Error(), renamed.Error(), 1)
	if msg == renamed.Error() {
		return renamed
	}
	return &wrapped{msg: msg, inner: renamed}
}

// Translate rewrites the first setting err names with name(setting), the
// front end's word for it (e.g. a flag "--batch"), keeping the rest of
// the message. Settings that name returns "" for are left as they are.
func Translate(err error, name func(setting string) string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	n := name(e.Name)
	if n == "" {
		return err
	}
	msg := strings.Replace(err.Error(), e.Error(), n+": "+e.Err.Error(), 1)
	return &wrapped{msg: msg, inner: err}
}

// wrapped is an error whose message was rewritten; errors.Is and As
// still reach the original chain.
type wrapped struct {
	msg   string
	inner error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.inner }
