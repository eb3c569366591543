# An Anvil app (https://anvil.works) in Anvil's git format. Anvil puts the form and module code in
# client_code/ (and server modules, of which this app has none, in server_code/); this line makes both
# folders the app package's own, as Anvil's editor and App Server expect.
__path__ = [__path__[0] + "/server_code", __path__[0] + "/client_code"]
