// The Element Timing attribute (Chromium), used to measure when the session list is painted.
import 'react';

declare module 'react' {
  interface HTMLAttributes<T> {
    elementtiming?: string;
  }
}
