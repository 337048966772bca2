"""A function role's IAM statements as CloudFormation would deploy them, for given parameters.

The template's own text (`localdev.aws.load_template`) resolved the way CloudFormation resolves
it: parameters (their defaults unless given), conditions, `Ref`, `Fn::GetAtt`, `Fn::Sub`,
`Fn::If` (with `AWS::NoValue`), `Fn::Join`, `Fn::Select`, `Fn::Split`, and the pseudo
parameters. The resources' ARNs are the local stack's. Only what the roles use is supported;
anything else raises, so a new construct in a policy cannot be silently misread.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from localdev.aws import REGION, load_template

#: moto's default account: the ARNs the local stack's resources get.
ACCOUNT_ID = "123456789012"
_NO_VALUE = object()


class TemplatePolicies:
    def __init__(self, parameters: Mapping[str, str], attributes: Mapping[str, str]) -> None:
        """`parameters`: values for the template's parameters (the rest take their defaults);
        `attributes`: `Resource.Attribute` (and plain `Resource` for `Ref`) -> value."""
        self.template = load_template()
        declared = self.template["Parameters"]
        unknown = set(parameters) - set(declared)
        if unknown:
            raise KeyError(f"not template parameters: {sorted(unknown)}")
        self.parameters = {name: parameters.get(name, spec.get("Default", "")) for name, spec in declared.items()}
        self.attributes = attributes
        self.pseudo = {
            "AWS::Partition": "aws",
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": "apify-run-notifier",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self._conditions: dict[str, bool] = {}

    def statements(self, role: str) -> list[dict[str, Any]]:
        """Every statement of the role's inline policies, resolved; each keeps its `Sid`."""
        resource = self.template["Resources"][role]
        if "Condition" in resource and not self.condition(resource["Condition"]):
            return []
        found = []
        for policy in resource["Properties"].get("Policies", []):
            policy = self.resolve(policy)
            if policy is _NO_VALUE:
                continue
            for statement in policy["PolicyDocument"]["Statement"]:
                if statement is not _NO_VALUE:
                    found.append(statement)
        return found

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self._conditions[name]

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.resolve(item) for item in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref":
                return self._ref(value)
            if key == "Condition":
                return self.condition(value)
            if key == "Fn::GetAtt":
                name, attribute = value if isinstance(value, list) else value.split(".", 1)
                return self.attributes[f"{name}.{attribute}"]
            if key == "Fn::Sub":
                return self._sub(value)
            if key == "Fn::If":
                name, yes, no = value
                return self.resolve(yes if self.condition(name) else no)
            if key == "Fn::Not":
                return not self.resolve(value[0])
            if key == "Fn::And":
                return all(self.resolve(v) for v in value)
            if key == "Fn::Or":
                return any(self.resolve(v) for v in value)
            if key == "Fn::Equals":
                left, right = (self.resolve(v) for v in value)
                return left == right
            if key == "Fn::Join":
                separator, items = value
                return separator.join(str(v) for v in self.resolve(items))
            if key == "Fn::Select":
                index, items = value
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = value
                return str(self.resolve(text)).split(separator)
            if key.startswith("Fn::"):
                raise NotImplementedError(f"{key} in a policy")
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in node.items()) if v is not _NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            spec = self.template["Parameters"][name]
            value = self.parameters[name]
            if spec["Type"] == "CommaDelimitedList":
                return [v for v in str(value).split(",")] if value != "" else [""]
            return value
        return self.attributes[name]

    def _sub(self, value: Any) -> str:
        text, variables = (value, {}) if isinstance(value, str) else (value[0], value[1])

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and name not in self.parameters:
                resource, attribute = name.split(".", 1)
                return self.attributes[f"{resource}.{attribute}"]
            return str(self._ref(name))

        return re.sub(r"\$\{([^}!]+)\}", one, text)
