//! The terminal emulator: every output byte goes through it, so the current screen is always
//! known (for snapshots, `GET /screen` and the screen classifier).

/// Records what the emulator reports besides the grid: the window title and bells.
#[derive(Default)]
struct Events {
    title: String,
    bells: u64,
}

impl vt100::Callbacks for Events {
    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.bells += 1;
    }

    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.title = String::from_utf8_lossy(title).into_owned();
    }
}

/// A VT100/xterm emulator fed with the PTY's output, tracking which stream offset it has
/// processed up to.
pub struct Terminal {
    parser: vt100::Parser<Events>,
    processed: u64,
}

impl Terminal {
    /// An empty screen of `cols` × `rows`, at stream offset 0.
    pub fn new(cols: u16, rows: u16) -> Terminal {
        Terminal { parser: vt100::Parser::new_with_callbacks(rows, cols, 0, Events::default()), processed: 0 }
    }

    /// Feeds output bytes; `processed_offset` advances by their length.
    pub fn process(&mut self, bytes: &[u8]) {
        self.parser.process(bytes);
        self.processed += bytes.len() as u64;
    }

    /// Declares that output up to `offset` is accounted for without being processed (it is
    /// no longer available).
    pub fn skip_to(&mut self, offset: u64) {
        self.processed = self.processed.max(offset);
    }

    /// The stream offset up to which output has been processed.
    pub fn processed_offset(&self) -> u64 {
        self.processed
    }

    /// Changes the screen size.
    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.parser.screen_mut().set_size(rows, cols);
    }

    /// `(cols, rows)`.
    pub fn size(&self) -> (u16, u16) {
        let (rows, cols) = self.parser.screen().size();
        (cols, rows)
    }

    /// True when the application asked for DECCKM (arrows as `ESC O x`).
    pub fn application_cursor(&self) -> bool {
        self.parser.screen().application_cursor()
    }

    /// The last window title set by the application (Claude Code shows `✳` when idle).
    pub fn title(&self) -> &str {
        &self.parser.callbacks().title
    }

    /// How many audible bells were rung so far.
    pub fn bells(&self) -> u64 {
        self.parser.callbacks().bells
    }

    /// The visible rows as plain text, trailing blanks trimmed.
    pub fn lines(&self) -> Vec<String> {
        let screen = self.parser.screen();
        let (_, cols) = screen.size();
        screen.rows(0, cols).map(|row| row.trim_end().to_owned()).collect()
    }

    /// The visible screen as text, one line per row, trailing blank lines removed.
    pub fn text(&self) -> String {
        let mut lines = self.lines();
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        lines.join("\n")
    }

    /// Bytes that repaint the whole current screen on a fresh terminal of the same size: a
    /// reset, the title, the alternate screen if in use, the cells with their attributes, the
    /// input modes and the cursor.
    pub fn snapshot(&self) -> Vec<u8> {
        let screen = self.parser.screen();
        let mut out = Vec::with_capacity(16 * 1024);
        out.extend_from_slice(b"\x1bc");
        let title = self.title();
        if !title.is_empty() {
            out.extend_from_slice(b"\x1b]0;");
            out.extend_from_slice(title.replace(['\x07', '\x1b'], "").as_bytes());
            out.push(0x07);
        }
        if screen.alternate_screen() {
            out.extend_from_slice(b"\x1b[?1049h");
        }
        out.extend_from_slice(&screen.state_formatted());
        out.extend_from_slice(&screen.cursor_state_formatted());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_text_offset_and_title() {
        let mut term = Terminal::new(20, 4);
        term.process(b"\x1b]0;\xe2\x9c\xb3 Claude\x07hello\r\nwor");
        term.process(b"ld\x1b[1;31m!\x1b[0m");
        assert_eq!(term.text(), "hello\nworld!");
        assert_eq!(term.processed_offset(), 39);
        assert_eq!(term.title(), "✳ Claude");
    }

    #[test]
    fn snapshot_repaints_the_same_screen() {
        let mut term = Terminal::new(30, 5);
        term.process(b"\x1b[32mgreen\x1b[0m line\r\n\x1b[?1hsecond\x1b[3;4H");
        let mut copy = Terminal::new(30, 5);
        copy.process(b"garbage that the reset clears\r\n\r\nmore");
        copy.process(&term.snapshot());
        assert_eq!(copy.text(), term.text());
        assert_eq!(copy.parser.screen().cursor_position(), term.parser.screen().cursor_position());
        assert!(copy.application_cursor(), "input modes are restored");
        assert_eq!(
            copy.parser.screen().cell(0, 0).map(|c| c.fgcolor()),
            term.parser.screen().cell(0, 0).map(|c| c.fgcolor())
        );
    }

    #[test]
    fn resize_changes_the_grid() {
        let mut term = Terminal::new(80, 24);
        term.resize(40, 10);
        assert_eq!(term.size(), (40, 10));
        assert_eq!(term.lines().len(), 10);
    }
}
