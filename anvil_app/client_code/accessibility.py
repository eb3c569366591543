"""What the page needs for screen readers that Anvil's components do not say themselves."""

import anvil.js


def mark_as_page_heading(label):
    """The page's title Label as its level-one heading (Anvil draws a Label as a plain <div>)."""
    node = anvil.js.get_dom_node(label)
    node.setAttribute("role", "heading")
    node.setAttribute("aria-level", "1")


def name_dropdown(dropdown, name):
    """Give a DropDown's <select> the accessible name its visible label or placeholder gives sighted people."""
    anvil.js.get_dom_node(dropdown).querySelector("select").setAttribute("aria-label", name)
