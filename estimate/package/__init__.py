"""Stage 1, the package: read the descriptor and tables, check them (schemas, keys, quotes,
numbers, dates, hashes, versions) and write outputs all or none. Every other stage starts
from a package this stage has found valid."""
