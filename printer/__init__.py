"""Ticket printing: the ESC/POS layout, printer targets and the print agent."""
