"""The drafted 《工程质量运行态势分析报告》 (第十条 7, 第十一条) and its 质量指数 (第七条): ``facts`` reads what the data
say (the master's figures), ``writing`` words it part by part, ``charts`` draws, ``document`` fills the editable Word
template (``template``).  Imports the ledger, status and merge (the same figures as the master)."""
