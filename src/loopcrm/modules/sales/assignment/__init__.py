"""Lead and opportunity assignment (线索分配): ordered rules, round robin, load balancing,
capacity, availability and working days of reps."""
