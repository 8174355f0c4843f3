//! A git worktree per session, so parallel sessions on one repo do not trample each other.
