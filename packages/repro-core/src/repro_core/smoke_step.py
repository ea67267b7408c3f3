"""The model step of the inferred smoke run: its source is copied into the generated script
(``repro_core.smoke.model_step``) and runs in the target environment, never in repro's own.

Importing this module imports nothing of torch; ``model_step`` imports it when it runs. Its
text must run on every Python the environments use (3.6 and newer) and on torch 1.x.
"""


def model_step(candidates, folders):
    """Build the first model of ``candidates`` ((module, attribute, where) each) that takes a
    training step, and return 0; else print every traceback and return 3.

    A candidate is ``module.attribute()``: a model class or a factory, called without
    arguments (the module's folder, from ``folders``, first on ``sys.path``). Its batch is
    two synthetic samples shaped by what the model says -- its first layer (Conv: an image,
    ConvTranspose: a latent ``(2, C, 1, 1)``, Linear: ``(2, in_features)``, Embedding:
    token ids) and the ``img_size``/``in_chans``/``nz``/``latent_dim``-style defaults of
    its constructor and attributes -- then a short list of usual shapes. One forward (every
    required input of ``forward`` given the batch), the floating outputs reduced to a scalar
    (the 0-d ones when the model returns a loss, else the sum of their means), backward, a
    finite check of every gradient, one SGD step that must change a parameter. A failure
    prints the traceback of a model's first input and one line for each other input.
    """
    import importlib
    import inspect
    import os
    import sys
    import traceback

    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    sizes = ("img_size", "image_size", "input_size", "img_shape", "resolution", "crop_size")
    chans = ("in_chans", "in_channels", "input_channels", "num_channels", "channels", "nc")
    latents = ("nz", "latent_dim", "z_dim", "noise_dim", "dim_z", "latent_size", "zdim")

    def said(model, factory):
        """{name: int} from the constructor's defaults and the model's own attributes."""
        out = {}
        for obj in (type(model), factory):
            try:
                params = inspect.signature(obj).parameters.values()
            except (TypeError, ValueError):
                continue
            for p in params:
                out.setdefault(p.name, p.default)
        for m in [model] + list(model.children())[:3]:
            for k in sizes + chans + latents:
                if hasattr(m, k) and not isinstance(getattr(m, k), torch.nn.Module):
                    out[k] = getattr(m, k)
        ints = {}
        for k, v in out.items():
            if isinstance(v, (tuple, list)) and v and all(isinstance(i, int) for i in v):
                v = v[-1]
            if isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 1024:
                ints[k] = v
        return ints

    def batches(model, factory):
        """Candidate inputs, the ones the model suggests first."""
        vals = said(model, factory)
        size = next((vals[k] for k in sizes if k in vals), None)
        chan = next((vals[k] for k in chans if k in vals), 3)
        latent = next((vals[k] for k in latents if k in vals), None)
        first = next((m for m in model.modules() if not list(m.children())
                      and isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d,
                                         torch.nn.ConvTranspose2d, torch.nn.Linear,
                                         torch.nn.Embedding))), None)
        shapes = []
        if isinstance(first, torch.nn.Embedding):
            return [torch.randint(0, first.num_embeddings, (2, 8))]
        if isinstance(first, torch.nn.ConvTranspose2d):
            shapes.append((2, first.in_channels, 1, 1))
        elif isinstance(first, torch.nn.Conv1d):
            shapes.append((2, first.in_channels, size or 64))
        elif isinstance(first, torch.nn.Conv3d):
            shapes.append((2, first.in_channels, 4, size or 32, size or 32))
        elif isinstance(first, torch.nn.Conv2d):
            chan = first.in_channels
        elif isinstance(first, torch.nn.Linear):
            shapes.append((2, first.in_features))
        if latent:
            shapes += [(2, latent), (2, latent, 1, 1)]
        for s in ([size] if size else []) + [32, 224, 28, 64]:
            shapes.append((2, chan, s, s))
        shapes += [(2, 3, 32, 32), (2, 3, 224, 224), (2, 1, 28, 28), (2, 3, 64, 64), (2, 100),
                   (2, 100, 1, 1)]
        seen = []
        for s in shapes:
            if s not in seen:
                seen.append(s)
        return [torch.randn(*s) for s in seen[:8]]

    def floats(out):
        if torch.is_tensor(out):
            return [out] if out.is_floating_point() and out.requires_grad else []
        if isinstance(out, dict):
            out = list(out.values())
        if isinstance(out, (list, tuple)):
            return [t for o in out for t in floats(o)]
        return []

    errors = []
    for module, name, where in candidates:
        folder = os.path.abspath(folders.get(module, ""))
        sys.path.insert(1, folder)
        try:
            torch.manual_seed(0)
            factory = getattr(importlib.import_module(module), name)
            model = factory()
            if isinstance(model, (tuple, list)):  # (model, criterion, ...)
                model = next((m for m in model if isinstance(m, torch.nn.Module)), model)
            if not isinstance(model, torch.nn.Module):
                raise TypeError(f"{name}() returned {type(model).__name__}, "
                                "not a torch.nn.Module")
            model.to(device).train()
            inputs = batches(model, factory)
        except Exception:
            errors.append(f"{module}.{name} ({where}): cannot build it\n"
                          + traceback.format_exc())
            continue
        finally:
            sys.path.remove(folder)
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            errors.append(f"{module}.{name} ({where}): {type(model).__name__} has no "
                          "trainable parameter\n")
            continue
        first_error = len(errors)
        required = [p for p in inspect.signature(model.forward).parameters.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                                                           p.POSITIONAL_OR_KEYWORD)]
        for x in inputs:
            try:
                x = x.to(device)
                before = [p.detach().clone() for p in params]
                optimizer = torch.optim.SGD(params, lr=0.01)
                optimizer.zero_grad()
                torch.manual_seed(0)  # dropout and sampling in forward: seeded too
                out = floats(model(*[x] * max(1, len(required))))
                scalars = [t for t in out if t.dim() == 0]
                if not out:
                    raise ValueError("no floating output that depends on the parameters")
                loss = sum(scalars) if scalars else sum(t.float().mean() for t in out)
                loss.backward()
                bad = [n for n, p in model.named_parameters()
                       if p.grad is not None and not bool(torch.isfinite(p.grad).all())]
                if bad or not bool(torch.isfinite(loss.detach())):
                    raise ValueError(f"non-finite loss {loss} or gradients of {bad[:3]}")
                optimizer.step()
                changed = sum(1 for b, p in zip(before, params) if not torch.equal(b, p))
                if not changed:
                    raise ValueError("the SGD step changed no parameter")
            except Exception as e:  # the first input's traceback, one line for the others
                errors.append(f"{module}.{name} ({where}) on input {tuple(x.shape)}\n" + (
                    traceback.format_exc() if len(errors) == first_error
                    else f"{type(e).__name__}: {e}\n"))
                continue
            print(f"model step: {module}.{name}() ({where}, {type(model).__name__}, "
                  f"{sum(p.numel() for p in params)} parameters) on input {tuple(x.shape)} "
                  f"{x.dtype}: loss {float(loss.detach()):.6g}, {changed} of {len(params)} "
                  f"parameter tensors updated on {device}")
            return 0
    for e in errors:
        print("model step failed: " + e, file=sys.stderr)
    print(f"model step: none of {len(candidates)} model(s) could take a step "
          f"({len(errors)} tries)")
    return 3
