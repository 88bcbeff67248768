"""qtables: issue, take in, check and merge the 附表 of Henan's construction-quality report."""

__version__ = "0.1.0"
