"""Win probability (naive Bayes over stage and attributes), targets per rep and month, and the
sales dashboard (智能预测)."""
