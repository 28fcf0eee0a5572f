"""Transforms: reshape each event into the payload one target receives.

A transform belongs to a target. It runs after the rule matched and before the sink, on the
event's structured JSON form: CloudEvents attributes and extensions at the top level (``id``,
``source``, ``type``, ``subject``, ``time`` as RFC 3339 text, ...) and ``data`` as parsed JSON.
Everything is checked and compiled when the target is declared; a bad transform raises
:class:`InvalidTransformError` then, never while delivering. A transform whose ``uses_context``
is true also gets a :class:`TransformContext` at delivery (bus, rule, ingestion time), which AWS's
``<aws.events.rule-name>``, ``<aws.events.rule-arn>`` and ``<aws.events.event.ingestion-time>``
read.

The forms of RocketMQ EventBridge, and AWS EventBridge's input transformer:

==================  ===========================================  ===============================
form                Python                                       data (config files)
==================  ===========================================  ===============================
ORIGINAL            ``Original()``                               ``{"form": "ORIGINAL"}``
CONSTANT            ``Constant({"ping": 1})``                    ``{"form": "CONSTANT", ...}``
JSONPATH            ``JsonPath("$.data.order")``                 ``{"form": "JSONPATH", ...}``
TEMPLATE            ``Template({"id": "$.id"}, "event ${id}")``  ``{"form": "TEMPLATE", ...}``
input transformer   ``InputTransformer(input_paths_map=...,``    ``{"InputPathsMap": ...,``
                    ``input_template=...)``                      ``"InputTemplate": ...}``
==================  ===========================================  ===============================

Example::

    from eventbridge_sdk.transforms import compile_transform

    transform = compile_transform(
        {"form": "TEMPLATE", "value": {"id": "$.data.id"}, "template": '{"order": ${id}}'}
    )
    transform.apply({"type": "order.created", "data": {"id": 42}})  # -> {"order": 42}
"""

from __future__ import annotations

from .._errors import InvalidTransformError
from ._aws import InputTransformer
from ._compile import TransformSpec, compile_transform
from ._context import TransformContext
from ._forms import Constant, JsonPath, Original, Template, Transform

__all__ = [
    "compile_transform",
    "Constant",
    "InputTransformer",
    "InvalidTransformError",
    "JsonPath",
    "Original",
    "Template",
    "Transform",
    "TransformContext",
    "TransformSpec",
]
