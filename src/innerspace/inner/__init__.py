"""The inner APIs of a data centre bound into a job's container: which of its APIs satisfy
an app's requirements, and what the container is given for them. The kinds themselves are
part of the vocabulary (innerspace.vocabulary)."""
