"""Products, price lists and quotes (报价单): lines, exact totals, versions, discount approval,
PDF, sending by email and the customer's public link to accept or reject."""
