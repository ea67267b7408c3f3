from torch._six import string_classes
