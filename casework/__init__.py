"""The office's workflows: reviewers' labels and the model learned from them, customer
reports, and (as they come) businesses and cases, evidence grades and erasure.

Between ``store`` (data, keys, audit) and ``notices``/``office`` (letters, interfaces): every
action a page, an API route, a CLI command or a scheduled job offers is one typed function
here, so all interfaces call the same code and the same checks. Imports store and matcher
only.
"""
