// The slice of ncurses that SphereLab's Terminal.swift uses, plus accessors for what Swift
// cannot import directly: macros (A_BOLD, COLOR_PAIR, stdscr-bound macros) and the global
// variables stdscr/LINES/COLS/COLORS, which Swift 6 rejects as shared mutable state.
#ifndef SPHERELAB_CNCURSES_SHIM_H
#define SPHERELAB_CNCURSES_SHIM_H

// Both must come before <ncurses.h> so it declares the wide-character API (get_wch, addnwstr).
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif

#include <locale.h>
#include <langinfo.h>
#include <wchar.h>
#include <ncurses.h>

// newterm() needs the C streams; Swift 6 rejects the stdin/stdout globals as shared state.
static inline FILE *spherelab_stdin(void) { return stdin; }
static inline FILE *spherelab_stdout(void) { return stdout; }
static inline int spherelab_lines(void) { return LINES; }
static inline int spherelab_cols(void) { return COLS; }
static inline int spherelab_colors(void) { return COLORS; }

static inline attr_t spherelab_attr_normal(void) { return A_NORMAL; }
static inline attr_t spherelab_attr_bold(void) { return A_BOLD; }
static inline attr_t spherelab_attr_reverse(void) { return A_REVERSE; }
static inline attr_t spherelab_attr_dim(void) { return A_DIM; }

// Sets attributes and colour pair on stdscr in one call (wattr_set takes the pair apart
// from the attributes, so pair numbers are not limited by the A_COLOR bit field).
static inline int spherelab_set_attributes(attr_t attributes, short pair) {
    return wattr_set(stdscr, attributes, pair, NULL);
}

// Writes n wide characters at (y, x) with the current attributes.
static inline int spherelab_put_wide(int y, int x, const wchar_t *text, int n) {
    return mvwaddnwstr(stdscr, y, x, text, n);
}

// One key: OK with a character, KEY_CODE_YES with a function-key code, ERR on timeout.
static inline int spherelab_get_wch(wint_t *out) { return wget_wch(stdscr, out); }
static inline void spherelab_timeout(int milliseconds) { wtimeout(stdscr, milliseconds); }
static inline int spherelab_keypad(bool on) { return keypad(stdscr, on); }
static inline int spherelab_erase(void) { return werase(stdscr); }
static inline int spherelab_clearok(bool on) { return clearok(stdscr, on); }
static inline int spherelab_refresh(void) { return wrefresh(stdscr); }

// Key codes, read from the header so a test can hold Key decoding to the real values.
static inline int spherelab_key_code_yes(void) { return KEY_CODE_YES; }
static inline int spherelab_key_down(void) { return KEY_DOWN; }
static inline int spherelab_key_up(void) { return KEY_UP; }
static inline int spherelab_key_left(void) { return KEY_LEFT; }
static inline int spherelab_key_right(void) { return KEY_RIGHT; }
static inline int spherelab_key_home(void) { return KEY_HOME; }
static inline int spherelab_key_end(void) { return KEY_END; }
static inline int spherelab_key_backspace(void) { return KEY_BACKSPACE; }
static inline int spherelab_key_f0(void) { return KEY_F0; }
static inline int spherelab_key_dc(void) { return KEY_DC; }
static inline int spherelab_key_npage(void) { return KEY_NPAGE; }
static inline int spherelab_key_ppage(void) { return KEY_PPAGE; }
static inline int spherelab_key_enter(void) { return KEY_ENTER; }
static inline int spherelab_key_btab(void) { return KEY_BTAB; }
static inline int spherelab_key_resize(void) { return KEY_RESIZE; }

#endif
