"""Issue locked 附表 template workbooks (the only writer of templates)."""
