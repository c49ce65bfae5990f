"""Widgets of the reader: virtual lists and views drawn line by line, the status line, and
``inert`` (outside strings as ``Text``, never markup). They import the core's data types and
``NewsService``, never the store, HTTP or a screen."""
