"""Print the arguments as JSON: shows that every parameter value arrives as one literal argument."""

import json
import sys

print(json.dumps(sys.argv[1:]))
