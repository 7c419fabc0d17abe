"""A minimal Tk text editor used as a real typing target on the virtual display.

Usage: python tk_text_window.py TITLE OUTFILE — every change to the text is written to OUTFILE,
so a test knows exactly what a person would have seen typed."""

from __future__ import annotations

import sys
import tkinter as tk


def main() -> None:
    title, out = sys.argv[1], sys.argv[2]
    root = tk.Tk()
    root.title(title)
    root.geometry("520x300+40+40")
    text = tk.Text(root, width=60, height=15)
    text.pack(fill="both", expand=True)
    text.focus_set()

    def save(_event: object = None) -> None:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text.get("1.0", "end-1c"))

    text.bind("<KeyRelease>", save)
    text.bind("<ButtonRelease>", save)
    root.after(200, save)
    root.mainloop()


if __name__ == "__main__":
    main()
