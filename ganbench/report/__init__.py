"""The output room: tables, the text the CLI prints, comparisons and ranks, HTML/Markdown pages and figures, all read from results on disk."""
