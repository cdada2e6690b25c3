"""resnet_lab: the models, data, training loop and probes of the resnet-lab course.

Import what a notebook needs from its module, e.g. `from resnet_lab.models import resnet, plain_net`.
"""

__version__ = "0.1.0"
